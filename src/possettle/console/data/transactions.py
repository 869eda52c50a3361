"""Transaction search and one transaction's full history, from the ledger's masked data.

A transaction is identified by TID + batch + STAN (design.md, "Identity"); its history is the
chain of entries that act on it (void, refund, reversal point at it with ``orig_entry_id``),
the batch it settled in, the batch-upload record that matched it and any reconciliation
exception. The card is searched by its last four digits against the masked PAN, because the
clear PAN is nowhere in the ledger.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from possettle.ledger.schema import batches, ledger_entries, recon_exceptions, upload_items

SEARCH_LIMIT = 200


def _entry(r: Any) -> dict[str, Any]:
    return {
        "id": r.id, "tid": r.tid, "mid": r.mid, "batch": r.batch, "stan": r.stan,
        "kind": r.kind, "orig_entry_id": r.orig_entry_id, "amount": r.amount,
        "currency": r.currency, "pan_masked": r.pan_masked, "rrn": r.rrn,
        "auth_code": r.auth_code, "card_org": r.card_org, "host_date": r.host_date.isoformat(),
        "created_at": r.created_at.isoformat(), "voided": bool(r.voided),
        "reversed": bool(r.reversed), "refunded_amount": r.refunded_amount,
    }  # fmt: skip


def search(
    engine: Engine, *, tid: str = "", batch: int | None = None, stan: str = "", rrn: str = "",
    day: date | None = None, amount: int | None = None, last4: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Entries matching every given criterion, newest first (at most :data:`SEARCH_LIMIT`)."""
    e = ledger_entries.c
    where: list[sa.ColumnElement[bool]] = []
    if tid:
        where.append(e.tid == tid.strip().upper())
    if batch is not None:
        where.append(e.batch == batch)
    if stan:
        where.append(e.stan == stan.strip().zfill(6))
    if rrn:
        where.append(e.rrn == rrn.strip().zfill(12))
    if day is not None:
        where.append(e.host_date == day)
    if amount is not None:
        where.append(e.amount == amount)
    if last4:
        where.append(e.pan_masked.like(f"%{last4.strip()[-4:]}"))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(ledger_entries).where(*where).order_by(e.id.desc()).limit(SEARCH_LIMIT)
        ).all()
    return {
        "transactions": [_entry(r) for r in rows],
        "limit": SEARCH_LIMIT,
        "filters": {
            "tid": tid, "batch": batch, "stan": stan, "rrn": rrn,
            "date": day.isoformat() if day else "", "amount": amount, "last4": last4,
        },
    }  # fmt: skip


def history(engine: Engine, entry_id: int) -> dict[str, Any] | None:
    """The entry, what acted on it, its settlement, its upload record and its exceptions."""
    e = ledger_entries.c
    with engine.connect() as conn:
        row = conn.execute(sa.select(ledger_entries).where(e.id == entry_id)).first()
        if row is None:
            return None
        root = row
        if row.orig_entry_id is not None:
            found = conn.execute(sa.select(ledger_entries).where(e.id == row.orig_entry_id)).first()
            root = found or row
        related = conn.execute(
            sa.select(ledger_entries)
            .where(sa.or_(e.id == root.id, e.orig_entry_id == root.id))
            .order_by(e.created_at, e.id)
        ).all()
        b = batches.c
        batch = conn.execute(
            sa.select(batches).where(b.tid == root.tid, b.batch == root.batch)
        ).first()
        u = upload_items.c
        uploads = conn.execute(
            sa.select(u.id, u.stan, u.status, u.amount, u.pan_masked, u.created_at).where(
                u.tid == root.tid, u.batch == root.batch, u.stan == root.stan
            )
        ).all()
        rx = recon_exceptions.c
        exceptions = conn.execute(
            sa.select(rx.category, rx.amount, rx.status, rx.created_at).where(
                rx.tid == root.tid, rx.batch == root.batch, rx.stan == root.stan
            )
        ).all()
    steps: list[dict[str, Any]] = []
    for r in related:
        label = "approval" if r.kind in ("sale", "offline") else r.kind
        steps.append({"step": label, "at": r.created_at.isoformat(), **_entry(r)})
    if batch is not None and batch.settle_requested_at is not None:
        steps.append({"step": "settlement", "at": batch.settle_requested_at.isoformat(),
                      "batch_status": batch.status, "result_domestic": batch.result_domestic,
                      "result_foreign": batch.result_foreign})  # fmt: skip
    for up in uploads:
        steps.append({"step": "upload", "at": up.created_at.isoformat(), "status": up.status,
                      "amount": up.amount, "pan_masked": up.pan_masked})  # fmt: skip
    for x in exceptions:
        steps.append({"step": "exception", "at": x.created_at.isoformat(), "category": x.category,
                      "amount": x.amount, "status": x.status})  # fmt: skip
    if batch is not None and batch.closed_at is not None:
        at = batch.closed_at.isoformat()
        steps.append({"step": "closed", "at": at, "batch_status": batch.status})
    steps.sort(key=lambda s: str(s["at"]))
    return {"transaction": _entry(root), "selected": entry_id, "history": steps}

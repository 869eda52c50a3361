"""Batches on the host: opened with their first entry, settling after the 0500, closed by the
batch-upload end, and kept with their figures for reconciliation (protocol §4)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.ledger.kinds import BatchStatus, ReconCategory, UploadStatus
from possettle.ledger.postings import Entry, live_entries
from possettle.ledger.queries import dialect_insert, insert_ignore
from possettle.ledger.schema import batches, recon_exceptions, terminals, upload_items


@dataclass(frozen=True, slots=True)
class BatchRow:
    tid: str
    batch: int
    status: BatchStatus
    host_totals: str | None
    terminal_totals: str | None
    result_domestic: int | None
    result_foreign: int | None
    uploaded_records: int
    upload_end_count: int | None


def _insert_ignore(conn: Connection, table: sa.Table, values: dict[str, object]) -> None:
    conn.execute(dialect_insert(conn, table).values(**values).on_conflict_do_nothing())


_ENSURE_BATCH = insert_ignore(batches)


def ensure_batch(conn: Connection, tid: str, batch: int, mid: str, at: datetime) -> None:
    conn.execute(
        _ENSURE_BATCH[conn.dialect.name],
        {"tid": tid, "batch": batch, "mid": mid, "status": BatchStatus.OPEN.value, "opened_at": at},
    )


def get_batch(conn: Connection, tid: str, batch: int) -> BatchRow | None:
    row = conn.execute(
        sa.select(batches).where(batches.c.tid == tid, batches.c.batch == batch)
    ).one_or_none()
    if row is None:
        return None
    return BatchRow(
        tid=row.tid,
        batch=row.batch,
        status=BatchStatus(row.status),
        host_totals=row.host_totals,
        terminal_totals=row.terminal_totals,
        result_domestic=row.result_domestic,
        result_foreign=row.result_foreign,
        uploaded_records=row.uploaded_records,
        upload_end_count=row.upload_end_count,
    )


def begin_settlement(
    conn: Connection,
    tid: str,
    batch: int,
    *,
    terminal_totals: str,
    host_totals: str,
    results: tuple[int, int],
    at: datetime,
) -> None:
    conn.execute(
        sa.update(batches)
        .where(batches.c.tid == tid, batches.c.batch == batch)
        .values(
            status=BatchStatus.SETTLING.value,
            settle_requested_at=at,
            terminal_totals=terminal_totals,
            host_totals=host_totals,
            result_domestic=results[0],
            result_foreign=results[1],
        )
    )


@dataclass(frozen=True, slots=True)
class UploadedItem:
    stan: str
    domestic: bool
    pan_hash: str
    pan_masked: str
    pan_sealed: bytes
    amount: int


def record_uploads(
    conn: Connection,
    tid: str,
    batch: int,
    items: list[UploadedItem],
    matches: dict[str, Entry],
    at: datetime,
) -> None:
    """Store one 0320's records and how each compares with the ledger, in a few statements.

    A record the host already holds (a resumed upload repeating a chunk under a new STAN) is
    left as it was; the batch's ``uploaded_records`` counts each STAN once.
    """
    ui = upload_items.c
    held = {
        str(s)
        for s in conn.execute(
            sa.select(ui.stan).where(
                ui.tid == tid, ui.batch == batch, ui.stan.in_([i.stan for i in items])
            )
        ).scalars()
    }
    fresh = [i for i in items if i.stan not in held]
    if not fresh:
        return
    rows = []
    for item in fresh:
        match = matches.get(item.stan)
        if match is None or not match.live:
            status = UploadStatus.MISSING_AT_HOST
        elif match.amount != item.amount:
            status = UploadStatus.AMOUNT_MISMATCH
        else:
            status = UploadStatus.MATCHED
        rows.append(
            {
                "tid": tid, "batch": batch, "stan": item.stan, "domestic": item.domestic,
                "pan_hash": item.pan_hash, "pan_masked": item.pan_masked,
                "pan_sealed": item.pan_sealed, "amount": item.amount,
                "matched_entry_id": None if match is None else match.id,
                "status": status.value, "created_at": at,
            }
        )  # fmt: skip
    conn.execute(sa.insert(upload_items), rows)
    conn.execute(
        sa.update(batches)
        .where(batches.c.tid == tid, batches.c.batch == batch)
        .values(uploaded_records=batches.c.uploaded_records + len(rows))
    )


def close_batch(
    conn: Connection, tid: str, batch: int, mid: str, *, uploaded: bool, count: int, at: datetime
) -> int:
    """Close a settling batch, record reconciliation exceptions, open the next batch.

    After an upload (unbalanced settlement) every uploaded record the host lacks or counts
    differently, and every live host entry the terminal did not upload, becomes an exception
    row: never dropped. Returns the number of exceptions recorded.
    """
    exceptions = 0
    if uploaded:
        items = conn.execute(
            sa.select(upload_items).where(upload_items.c.tid == tid, upload_items.c.batch == batch)
        ).all()
        uploaded_stans = {i.stan for i in items}
        for i in items:
            if i.status == UploadStatus.MATCHED:
                continue
            category = (
                ReconCategory.MISSING_AT_HOST
                if i.status == UploadStatus.MISSING_AT_HOST
                else ReconCategory.AMOUNT_MISMATCH
            )
            detail = {"pan": i.pan_masked, "terminal_amount": i.amount}
            exceptions += _exception(
                conn,
                tid,
                batch,
                i.stan,
                category,
                i.amount,
                at,
                detail,
                upload_item_id=i.id,
                entry_id=i.matched_entry_id,
            )
        for e in live_entries(conn, tid, batch):
            if e.stan not in uploaded_stans:
                detail = {"kind": e.kind.value, "rrn": e.rrn, "host_amount": e.amount}
                exceptions += _exception(
                    conn,
                    tid,
                    batch,
                    e.stan,
                    ReconCategory.MISSING_AT_TERMINAL,
                    e.amount,
                    at,
                    detail,
                    entry_id=e.id,
                )
    conn.execute(
        sa.update(batches)
        .where(batches.c.tid == tid, batches.c.batch == batch)
        .values(status=BatchStatus.CLOSED.value, closed_at=at, upload_end_count=count)
    )
    conn.execute(sa.update(terminals).where(terminals.c.tid == tid).values(current_batch=batch + 1))
    ensure_batch(conn, tid, batch + 1, mid, at)
    return exceptions


def _exception(
    conn: Connection,
    tid: str,
    batch: int,
    stan: str,
    category: ReconCategory,
    amount: int,
    at: datetime,
    detail: dict[str, object],
    *,
    entry_id: int | None = None,
    upload_item_id: int | None = None,
) -> int:
    _insert_ignore(
        conn,
        recon_exceptions,
        {
            "tid": tid,
            "batch": batch,
            "stan": stan,
            "category": category.value,
            "amount": amount,
            "entry_id": entry_id,
            "upload_item_id": upload_item_id,
            "detail": json.dumps(detail, sort_keys=True),
            "status": "open",
            "created_at": at,
        },
    )
    return 1

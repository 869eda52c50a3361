"""Facts about one of our terminals from the host ledger (read-only).

What a support person would ask the merchant, answered from the ledger instead: the acquirer
and the model (ours), whether the terminal signed on today (the shop's business day, Beijing
time like the day report: :data:`possettle.ledger.dayreport.DEFAULT_ZONE`), when it last
settled and whether the settlement before today balanced, whether sales go through now,
whether the other terminals of the shop or the area work, a reversal booked today. The
doctor's own host view (:func:`possettle.doctor.hostview.read_host` and its signals) adds the
registration, policy, MAC-error and fleet signals; nothing is re-derived here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.ledger.dayreport import DEFAULT_ZONE, business_day, zone
from possettle.ledger.engine import READ_ONLY
from possettle.ledger.kinds import BatchStatus, EntryKind, MerchantStatus, TerminalStatus
from possettle.ledger.schema import batches, ledger_entries, merchants, requests, terminals

#: sales approved (or refused) this recently say whether a sale works now
RECENT = timedelta(hours=1)
#: a last settlement this recent is "within the last day or two"
RECENT_SETTLEMENT = timedelta(days=2)
SALE_MTI = "0200"


@dataclass
class LedgerView:
    """What the ledger says about one terminal; ``found`` False: the TID is not registered."""

    found: bool
    tid: str
    answers: dict[str, str] = field(default_factory=dict)
    escalation: dict[str, Any] = field(default_factory=dict)
    terminal_status: str = ""
    merchant_status: str = ""
    merchant: str = ""
    known: list[str] = field(default_factory=list)  # some registered TIDs, for the error


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _stamp(at: datetime | None) -> str | None:
    at = _utc(at)
    return at.isoformat() if at is not None else None


def read_ledger(engine: sa.Engine, tid: str, now: datetime) -> LedgerView:
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        return _read(conn, tid, now)


def _read(conn: Connection, tid: str, now: datetime) -> LedgerView:
    t = terminals.c
    row = conn.execute(sa.select(terminals).where(t.tid == tid)).first()
    if row is None:
        known = conn.execute(sa.select(t.tid).order_by(t.tid).limit(10)).scalars().all()
        return LedgerView(found=False, tid=tid, known=[str(k) for k in known])
    shop = conn.execute(sa.select(merchants).where(merchants.c.mid == row.mid)).first()
    view = LedgerView(
        found=True,
        tid=tid,
        terminal_status=str(row.status),
        merchant_status=str(shop.status) if shop is not None else "",
        merchant=str(shop.name) if shop is not None else "",
    )
    start, _ = business_day(now.astimezone(zone(DEFAULT_ZONE)).date(), zone(DEFAULT_ZONE))
    a = view.answers
    # ours, by definition: the ledger holds only possettle's terminals
    a["acquirer"] = "possettle"
    a["model"] = "possettle"
    signon = _utc(row.last_signon_at)
    if row.status == TerminalStatus.ACTIVE:
        a["signed_on"] = "yes" if row.signed_on and signon and signon >= start else "no"
    _settlements(conn, view, row, start, now)
    _sales(conn, view, now)
    _others(conn, view, row, start, now)
    reversals = conn.execute(
        sa.select(sa.func.count()).where(
            ledger_entries.c.tid == tid,
            ledger_entries.c.kind == EntryKind.REVERSAL,
            ledger_entries.c.created_at >= start,
        )
    ).scalar_one()
    if reversals:
        a["reversal"] = "auto"  # a reversal the host received and booked went through
    _escalation(conn, view, row, now)
    return view


def _balanced(b: Any) -> bool:
    halves = {b.result_domestic, b.result_foreign} - {None}
    return b.status == BatchStatus.CLOSED and halves <= {1}


def _settlements(
    conn: Connection, view: LedgerView, row: Any, start: datetime, now: datetime
) -> None:
    b = batches.c
    asked = conn.execute(
        sa.select(batches)
        .where(b.tid == view.tid, b.settle_requested_at.is_not(None))
        .order_by(b.settle_requested_at.desc())
        .limit(20)
    ).all()
    closed = [x for x in asked if x.status == BatchStatus.CLOSED and x.closed_at is not None]
    stuck = [x for x in asked if x.status == BatchStatus.SETTLING]
    if stuck:  # a settlement the host saw begin and not end: when it was asked for
        view.escalation["time"] = _stamp(stuck[0].settle_requested_at)
        view.escalation["failed_batch"] = int(stuck[0].batch)
    if closed:
        last = _utc(closed[0].closed_at)
        assert last is not None
        view.answers["last_settled"] = "recent" if now - last <= RECENT_SETTLEMENT else "long_ago"
        view.escalation["last_settled_at"] = last.isoformat()
        view.escalation["last_settled_batch"] = int(closed[0].batch)
    elif not asked:
        created = _utc(row.created_at)
        view.answers["last_settled"] = "never"
        if created is not None and now - created <= RECENT_SETTLEMENT:
            view.answers["worked_yesterday"] = "new"
    # the last settlement asked for before today: did it balance at once?
    before = [x for x in asked if (_utc(x.settle_requested_at) or now) < start]
    if before:
        view.answers["worked_yesterday"] = "yes" if _balanced(before[0]) else "no"


def _sales(conn: Connection, view: LedgerView, now: datetime) -> None:
    e, r = ledger_entries.c, requests.c
    since = now - RECENT
    approved = conn.execute(
        sa.select(sa.func.count()).where(
            e.tid == view.tid, e.kind == EntryKind.SALE, e.created_at >= since
        )
    ).scalar_one()
    refused = conn.execute(
        sa.select(sa.func.count()).where(
            r.tid == view.tid, r.mti == SALE_MTI, r.response_code != "00", r.created_at >= since
        )
    ).scalar_one()
    if approved:
        view.answers["sale_works"] = "yes"
    elif refused:
        view.answers["sale_works"] = "no"


def _others(conn: Connection, view: LedgerView, row: Any, start: datetime, now: datetime) -> None:
    """The other active terminals of the same shop or the same area: does any of them sell or
    settle now? None to compare: "none"; some, all silent: not answered (a quiet shop)."""
    t, e, b, r = terminals.c, ledger_entries.c, batches.c, requests.c
    near = t.mid == row.mid
    if row.region:
        near = sa.or_(near, t.region == row.region)
    others = set(
        conn.execute(
            sa.select(t.tid).where(near, t.tid != view.tid, t.status == TerminalStatus.ACTIVE)
        ).scalars()
    )
    if not others:
        view.answers["others_work"] = "none"
        return
    since = now - RECENT
    selling = set(
        conn.execute(
            sa.select(e.tid).where(e.tid.in_(others), e.created_at >= since).distinct()
        ).scalars()
    )
    settled = {
        x.tid
        for x in conn.execute(
            sa.select(batches).where(b.tid.in_(others), b.closed_at >= start)
        ).all()
        if _balanced(x)
    }
    failing = set(
        conn.execute(
            sa.select(r.tid)
            .where(r.tid.in_(others), r.response_code != "00", r.created_at >= since)
            .distinct()
        ).scalars()
    )
    working = selling | settled
    view.escalation["others_checked"] = len(others)
    view.escalation["others_working"] = len(working)
    if working:
        view.answers["others_work"] = "yes"
    elif failing:
        view.answers["others_work"] = "no"


def _escalation(conn: Connection, view: LedgerView, row: Any, now: datetime) -> None:
    e = ledger_entries.c
    last = conn.execute(
        sa.select(e.batch, e.stan, e.rrn, e.kind, e.created_at)
        .where(e.tid == view.tid)
        .order_by(e.id.desc())
        .limit(1)
    ).first()
    package: dict[str, Any] = {
        "tid": view.tid,
        "mid": str(row.mid),
        "merchant": view.merchant,
        "model": str(row.model or ""),
        "region": str(row.region or ""),
        "software_version": str(row.software_version or ""),
        "batch": int(row.current_batch),
        "terminal_status": view.terminal_status,
        "merchant_status": view.merchant_status,
        "last_signon_at": _stamp(row.last_signon_at),
        "last_seen_at": _stamp(row.last_seen_at),
        "checked_at": now.astimezone(UTC).isoformat(),
    }
    if last is not None:
        # STAN and RRN identify a transaction to the acquirer; no card data goes with them
        package |= {
            "last_batch": int(last.batch),
            "last_stan": str(last.stan),
            "last_rrn": str(last.rrn),
            "last_kind": str(last.kind),
            "last_txn_at": _stamp(last.created_at),
            # the names the engine's escalation items read (support/engine.py, _ITEMS)
            "stan": str(last.stan),
            "rrn": str(last.rrn),
        }
    view.escalation = package | view.escalation


def disabled(view: LedgerView) -> tuple[bool, bool]:
    """(terminal disabled, merchant disabled) at the host."""
    return (
        view.terminal_status == TerminalStatus.DISABLED,
        view.merchant_status == MerchantStatus.DISABLED,
    )

"""The fleet: every terminal with its liveness, open batch and last settlement, as JSON data.

Liveness comes from ``last_seen_at`` (the host touches it on every message), not from the
``signed_on`` flag, because a terminal that lost its link still looks signed on: *online* if it
spoke within :data:`ONLINE_WITHIN`; *closed* when it ended its day on purpose (signed off, or
settled with nothing booked since: ``ledger/dayend.py``, so no alert either);
else *offline* within :data:`REPORTING_WITHIN`, then *not reporting* (the
``telemetry.missing`` view of the fleet). Pending work (reversals, offline
items) is only known to the terminal, so it comes from its last doctor report.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from possettle.console.data.settlements import classify
from possettle.iso8583.framing import version_text
from possettle.ledger.dayend import DayEnds, day_ends
from possettle.ledger.schema import (
    batches,
    merchants,
    terminal_reports,
    terminals,
)
from possettle.status_report import StatusReport

ONLINE_WITHIN = timedelta(minutes=10)
REPORTING_WITHIN = timedelta(hours=24)


def liveness(status: str, last_seen: datetime | None, now: datetime, closed: bool = False) -> str:
    """online / closed (for the day: ledger/dayend.py) / offline / not reporting."""
    if status == "disabled":
        return "disabled"
    if last_seen is None:
        return "not_reporting"
    if now - last_seen <= ONLINE_WITHIN:
        return "online"
    if closed:
        return "closed"
    return "not_reporting" if now - last_seen > REPORTING_WITHIN else "offline"


def terminal_liveness(conn: Connection, row: Any, now: datetime) -> str:
    """:func:`liveness` of one terminals row."""
    return _liveness(row, now, day_ends(conn, row.tid))


def _liveness(row: Any, now: datetime, ends: DayEnds) -> str:
    closed = ends.closed(row.tid, bool(row.signed_on), row.last_seen_at)
    return liveness(row.status, row.last_seen_at, now, closed)


def read_report(text: str | None) -> dict[str, Any] | None:
    """A terminal's stored summary report (possettle/status_report.py) as JSON; a row that does
    not fit the model (stored before the host checked reports) is shown as such, not hidden."""
    if not text:
        return None
    report = StatusReport.read(text)
    return report.as_dict() if report else {"unreadable": True}


def fleet(
    engine: Engine, now: datetime, *, q: str = "", region: str = "", status: str = "",
    merchant: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Terminals by merchant and region, filtered; plus the filter choices and counts."""
    t, m, b = terminals.c, merchants.c, batches.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(terminals, m.name.label("merchant_name"))
            .join(merchants, m.mid == t.mid)
            .order_by(t.mid, t.region, t.tid)
        ).all()
        open_batches = {
            (r.tid, r.batch): r
            for r in conn.execute(sa.select(batches).where(b.status != "closed"))
        }
        # batches that settled or tried to: the latest is the terminal's last settlement
        attempted = conn.execute(
            sa.select(batches)
            .where(sa.or_(b.closed_at.is_not(None), b.settle_requested_at.is_not(None)))
            .order_by(b.tid, b.batch)
        ).all()
        reports = {
            r.tid: (r.received_at, read_report(r.report))
            for r in conn.execute(sa.select(terminal_reports))
        }
        ends = day_ends(conn)  # also the size of each terminal's current batch
    last_tried = {r.tid: r for r in attempted}
    out: list[dict[str, Any]] = []
    for r in rows:
        live = _liveness(r, now, ends)
        ob = open_batches.get((r.tid, r.current_batch))
        received, report = reports.get(r.tid, (None, None))
        last = _last_settlement(last_tried.get(r.tid), report, open_batches, r.tid)
        item = {
            "tid": r.tid, "mid": r.mid, "merchant": r.merchant_name, "region": r.region or "",
            "model": r.model or "", "status": r.status, "liveness": live,
            "software_version": r.software_version, "needs_signon": bool(r.needs_signon),
            "software": version_text(r.software_version or ""),
            "last_signon_at": _iso(r.last_signon_at), "last_seen_at": _iso(r.last_seen_at),
            "open_batch": {
                "batch": r.current_batch,
                "age_minutes": int((now - ob.opened_at).total_seconds() // 60) if ob else None,
                "entries": ends.entries.get(r.tid, 0),
            },
            "report": {"received_at": _iso(received), **(report or {})} if report else None,
            "last_settlement": _last(last, report),
        }  # fmt: skip
        if _matches(item, q=q, region=region, status=status, merchant=merchant):
            out.append(item)
    counts: dict[str, int] = {}
    for item in out:
        counts[item["liveness"]] = counts.get(item["liveness"], 0) + 1
    return {
        "terminals": out,
        "counts": counts,
        "groups": _groups(out),
        "regions": sorted({r.region or "" for r in rows}),
        "merchants": sorted({(r.mid, r.merchant_name) for r in rows}),
        "filters": {"q": q, "region": region, "status": status, "merchant": merchant},
    }


def _groups(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Counts per merchant and region: a region going dark shows as one line, not fifty."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        key = (item["mid"], item["region"])
        group = groups.setdefault(key, {
            "mid": item["mid"], "merchant": item["merchant"], "region": item["region"],
            "total": 0, "online": 0, "closed": 0, "offline": 0, "not_reporting": 0,
            "disabled": 0,
        })  # fmt: skip
        group["total"] += 1
        group[item["liveness"]] += 1
    return [groups[k] for k in sorted(groups)]


def _matches(item: dict[str, Any], *, q: str, region: str, status: str, merchant: str) -> bool:
    if region and item["region"] != region:
        return False
    if status and item["liveness"] != status:
        return False
    if merchant and item["mid"] != merchant:
        return False
    needle = q.strip().lower()
    hay = " ".join(str(item[k]) for k in ("tid", "mid", "merchant", "region", "model"))
    return not needle or needle in hay.lower()


def _last_settlement(
    tried: Any, report: dict[str, Any] | None, open_batches: dict[tuple[str, int], Any], tid: str
) -> Any:
    """The batch row of the terminal's last settlement: the latest one the host saw settle or
    try to, or a later open batch whose settlement the terminal reported failed (the host may
    never have seen that attempt)."""
    failed = report.get("batch") if report and report.get("ok") is False else None
    if isinstance(failed, int) and (tried is None or failed > tried.batch):
        return open_batches.get((tid, failed), tried)
    return tried


def _last(row: Any, report: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"batch": row.batch, "result": classify(row, report), "closed_at": _iso(row.closed_at)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

"""One terminal: its registry row, a timeline of everything the host saw, and its diagnoses.

The timeline merges six sources by time — host events (sign-ons, faults), the sample of bad
frames the host kept (format and MAC errors; counted, not each kept), ledger entries
(sales, voids, refunds, reversals, offline advices; masked PANs only), batches (settlement
asked, closed, uploaded), reconciliation exceptions, and console actions from the audit log —
so support staff read one story instead of five tables. The host-side doctor
(:func:`possettle.doctor.run.diagnose_from_host`) runs on every view: it only reads.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from possettle.clock import Clock
from possettle.console.data.event_text import action_text, event_text
from possettle.console.data.fleet import read_report, terminal_liveness
from possettle.console.data.settlements import settlements
from possettle.console.display import Zone
from possettle.doctor.run import diagnose_from_host
from possettle.iso8583.codes import describe
from possettle.iso8583.framing import version_text
from possettle.ledger.bad_frames import samples_of
from possettle.ledger.schema import (
    audit_log,
    batches,
    host_events,
    ledger_entries,
    merchants,
    recon_exceptions,
    terminal_reports,
    terminals,
)

TIMELINE_LIMIT = 500


def terminal(
    engine: Engine, tid: str, clock: Clock, zone: Zone | None = None
) -> dict[str, Any] | None:
    """The terminal page's data, or None for an unknown TID.

    ``last_settlement`` is the terminal's row of the settlements page (the same outcome, cause
    and attempts), so the page can say a terminal the doctor finds nothing wrong with is
    healthy, and how its last settlement ended, instead of "nothing explains a failure".
    """
    now = clock.now()
    t = terminals.c
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(terminals, merchants.c.name.label("merchant_name"))
            .join(merchants, merchants.c.mid == t.mid)
            .where(t.tid == tid)
        ).first()
        if row is None:
            return None
        rep = conn.execute(sa.select(terminal_reports).where(terminal_reports.c.tid == tid)).first()
        events = _timeline(conn, tid)
        live = terminal_liveness(conn, row, now)
    report = read_report(rep.report) if rep else None
    settled = settlements(engine, zone=zone, tid=row.tid)["settlements"]
    return {
        "tid": row.tid, "mid": row.mid, "merchant": row.merchant_name, "region": row.region,
        "model": row.model, "status": row.status,
        "liveness": live,
        "software_version": row.software_version, "current_batch": row.current_batch,
        "software": version_text(row.software_version or ""),
        "needs_signon": bool(row.needs_signon), "signed_on": bool(row.signed_on),
        "last_signon_at": _iso(row.last_signon_at), "last_seen_at": _iso(row.last_seen_at),
        "terminal_report": (
            {"received_at": _iso(rep.received_at), **(report or {})} if rep else None
        ),
        "diagnosis": diagnose_from_host(engine, tid, clock).as_dict(),
        "last_settlement": settled[-1] if settled else None,
        "timeline": events,
    }  # fmt: skip


def _timeline(conn: sa.Connection, tid: str) -> list[dict[str, Any]]:
    items: list[tuple[datetime, dict[str, Any]]] = []
    ev = host_events.c
    for r in conn.execute(_latest(sa.select(host_events).where(ev.tid == tid), ev.at)):
        code = r.response_code
        items.append((r.at, {
            "type": _event_type(r.kind),
            "kind": r.kind, "response_code": code,
            "meaning": {"en": describe(code).en, "zh": describe(code).zh} if code else None,
            "detail": r.detail, "text": event_text(r.kind, code, r.detail),
        }))  # fmt: skip
    for r in samples_of(conn, tid, TIMELINE_LIMIT):
        code = r.response_code
        items.append((r.at, {
            "type": "fault", "kind": r.kind, "response_code": code,
            "meaning": {"en": describe(code).en, "zh": describe(code).zh},
            "detail": r.detail, "text": event_text(r.kind, code, r.detail),
        }))  # fmt: skip
    le = ledger_entries.c
    for r in conn.execute(_latest(sa.select(ledger_entries).where(le.tid == tid), le.created_at)):
        items.append((r.created_at, {
            "type": "reversal" if r.kind == "reversal" else "transaction", "kind": r.kind,
            "id": r.id, "batch": r.batch, "stan": r.stan, "rrn": r.rrn, "amount": r.amount,
            "currency": r.currency, "pan_masked": r.pan_masked, "voided": bool(r.voided),
            "reversed": bool(r.reversed),
        }))  # fmt: skip
    b = batches.c
    for r in conn.execute(_latest(sa.select(batches).where(b.tid == tid), b.opened_at)):
        if r.settle_requested_at is not None:
            items.append((r.settle_requested_at, {
                "type": "settlement", "kind": "settle_requested", "batch": r.batch,
                "result_domestic": r.result_domestic, "result_foreign": r.result_foreign,
            }))  # fmt: skip
        if r.closed_at is not None:
            items.append((r.closed_at, {
                "type": "settlement", "kind": "closed", "batch": r.batch,
                "uploaded_records": r.uploaded_records, "upload_end_count": r.upload_end_count,
            }))  # fmt: skip
    rx = recon_exceptions.c
    for r in conn.execute(_latest(sa.select(recon_exceptions).where(rx.tid == tid), rx.created_at)):
        items.append((r.created_at, {
            "type": "exception", "kind": r.category, "batch": r.batch, "stan": r.stan,
            "amount": r.amount, "status": r.status,
        }))  # fmt: skip
    a = audit_log.c
    for r in conn.execute(_latest(sa.select(audit_log).where(a.target == tid), a.at)):
        items.append((r.at, {
            "type": "action", "kind": r.action, "actor": r.actor, "detail": _short(r.detail),
            "text": action_text(r.action, r.actor, r.detail),
        }))  # fmt: skip
    items.sort(key=lambda pair: pair[0], reverse=True)
    return [{"at": at.isoformat(), **item} for at, item in items[:TIMELINE_LIMIT]]


def _latest(stmt: sa.Select[Any], at: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """The newest rows of one source: the merged timeline keeps TIMELINE_LIMIT in all, so no
    source needs more than that many (a busy terminal's history stays off the request path)."""
    return stmt.order_by(at.desc()).limit(TIMELINE_LIMIT)


def _event_type(kind: str) -> str:
    if kind in ("signon", "signoff"):
        return "signon"
    return "action" if kind.startswith("console.") else "fault"


def _short(detail: str) -> str:
    try:
        data = json.loads(detail)
    except ValueError:
        return detail[:200]
    if isinstance(data, dict):
        flat = (f"{k}={v}" for k, v in data.items() if not isinstance(v, dict | list))
        return ", ".join(flat)[:200]
    return str(data)[:200]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

"""Settlements per day and per terminal: balanced, balanced after upload, failed, recovered.

The host sees only part of a failure: its batch rows say whether a batch closed and whether it
needed a batch upload (0510 result not ``1``), its events show faults (MAC and format errors,
refusals) while the batch was open, and the terminal's last doctor report names the cause and
the step. A batch that closed after a fault or a failed report is *recovered*; one that did
not close after a failed report, or is stuck settling, is *failed*. Format and MAC errors are
counted and sampled rather than kept as events (ledger/bad_frames.py): their sampled
moments and each counter's first and last frame are the faults' times.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from possettle.doctor.catalog import BY_ID
from possettle.ledger.bad_frames import marks
from possettle.ledger.schema import batches, host_events, terminal_reports
from possettle.status_report import StatusReport

# host events that mean something went wrong (the others are sign-on/off bookkeeping)
FAULT_KINDS = ("format_error", "mac_error", "refused", "version", "offline_refused_by_issuer")
FAILED = ("failed", "recovered")


def _reported_failure(b: Any, report: dict[str, Any] | None) -> bool:
    return bool(report) and report.get("batch") == b.batch and report.get("ok") is False  # type: ignore[union-attr]


def classify(b: Any, report: dict[str, Any] | None, faults: int = 0) -> str:
    """The outcome of one batch row given the terminal's last report and the faults seen."""
    failed_report = _reported_failure(b, report)
    if b.status != "closed":
        if failed_report:
            return "failed"
        return "settling" if b.status == "settling" else "open"
    if failed_report or faults:
        return "recovered"
    upload = b.uploaded_records > 0 or (b.result_domestic or 1) != 1 or (b.result_foreign or 1) != 1
    return "balanced_after_upload" if upload else "balanced"


def top_cause(report: dict[str, Any] | None, batch: int) -> tuple[str | None, str | None]:
    """The (cause, step) the terminal named first for ``batch``, if it did."""
    if not report or report.get("batch") != batch:
        return None, None
    for entry in report.get("causes") or []:
        if isinstance(entry, list) and entry and str(entry[0]) in BY_ID:
            step = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else None
            return str(entry[0]), step
    return None, None


def settlements(
    engine: Engine, *, day: str = "", tid: str = "", result: str = ""
) -> dict[str, Any]:
    """Each batch that settled or tried to, with its outcome, and the figures for the charts."""
    b, ev = batches.c, host_events.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(batches).order_by(b.opened_at, b.tid)).all()
        reports: dict[str, dict[str, Any] | None] = {}
        for r in conn.execute(sa.select(terminal_reports)):
            stored = StatusReport.read(r.report)
            reports[r.tid] = stored.as_dict() if stored else None
        faults: list[Any] = [
            *conn.execute(
                sa.select(ev.tid, ev.at, ev.kind, ev.response_code).where(ev.kind.in_(FAULT_KINDS))
            ),
            *marks(conn),
        ]
    faults.sort(key=lambda f: f.at)
    faults_of: dict[str, list[Any]] = {}
    for f in faults:
        faults_of.setdefault(f.tid, []).append(f)
    items: list[dict[str, Any]] = []
    for r in rows:
        report = reports.get(r.tid)
        end = r.closed_at
        seen = [
            f for f in faults_of.get(r.tid, ())
            if f.at >= r.opened_at and (end is None or f.at <= end)
        ]  # fmt: skip
        outcome = classify(r, report, len(seen))
        if outcome == "open":
            continue  # still trading: not a settlement yet
        cause, step = top_cause(report, r.batch)
        if cause is None and seen:
            cause, step = _cause_of_fault(seen[-1].kind), "settle"
        when = r.closed_at or r.settle_requested_at or r.opened_at
        items.append({
            "day": when.date().isoformat(), "tid": r.tid, "mid": r.mid, "batch": r.batch,
            "status": r.status, "result": outcome, "step": step, "cause": cause,
            "group": BY_ID[cause].group.value if cause else None,
            "uploaded_records": r.uploaded_records,
            "result_domestic": r.result_domestic, "result_foreign": r.result_foreign,
            "settle_requested_at": _iso(r.settle_requested_at), "closed_at": _iso(r.closed_at),
        })  # fmt: skip
    chosen = [
        i for i in items
        if (not day or i["day"] == day) and (not tid or i["tid"] == tid)
        and (not result or i["result"] == result)
    ]  # fmt: skip
    return {
        "settlements": chosen,
        "by_result": dict(Counter(i["result"] for i in chosen)),
        "success_rate": _daily_rate(items),
        "by_terminal": _by_terminal(chosen),
        "failures_by_cause": _failures(items, "cause"),
        "failures_by_group": _failures(items, "group"),
        "days": sorted({i["day"] for i in items}),
        "filters": {"day": day, "tid": tid, "result": result},
    }  # fmt: skip


def _by_terminal(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per terminal: how its settlements ended, and the last cause named for a failure."""
    rows: dict[str, dict[str, Any]] = {}
    for i in items:
        row = rows.setdefault(i["tid"], {"tid": i["tid"], "total": 0, "last_cause": None})
        row["total"] += 1
        row[i["result"]] = row.get(i["result"], 0) + 1
        if i["result"] in FAILED and i["cause"]:
            row["last_cause"] = i["cause"]
    return [rows[tid] for tid in sorted(rows)]


def _failures(items: list[dict[str, Any]], key: str) -> dict[str, int]:
    return dict(Counter(i[key] or "unknown" for i in items if i["result"] in FAILED))


def _daily_rate(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per day: settlements tried, those that ended balanced without a failure, and the rate."""
    tried: Counter[str] = Counter()
    clean: Counter[str] = Counter()
    for i in items:
        tried[i["day"]] += 1
        if i["result"] in ("balanced", "balanced_after_upload"):
            clean[i["day"]] += 1
    return [
        {"day": d, "tried": tried[d], "ok": clean[d], "rate": round(clean[d] / tried[d], 4)}
        for d in sorted(tried)
    ]


def _cause_of_fault(kind: str) -> str:
    return {
        "mac_error": "keys.out_of_sync", "format_error": "protocol.incompatible",
        "version": "software.outdated", "refused": "permission.denied",
        "offline_refused_by_issuer": "issuer.unavailable",
    }.get(kind, "external.undetected")  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

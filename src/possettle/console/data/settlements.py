"""Settlements per day and per terminal: balanced, balanced after upload, failed, recovered.

The host sees only part of a failure: its batch rows say whether a batch closed and whether it
needed a batch upload (0510 result not ``1``), its events show faults (MAC and format errors,
refusals) while the batch was open, and the terminal's last doctor report names the cause and
the step. A batch that closed after a fault or a failed report, or that the terminal's report
says it recovered (:func:`recovered_by_report`), is *recovered* — failed, then balanced, with
the attempts the host can count; one that did not close after a failed report, or is stuck
settling, is *failed*. Format and MAC errors are
counted and sampled rather than kept as events (ledger/bad_frames.py): their sampled
moments and each counter's first and last frame are the faults' times.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from possettle.console.display import DEFAULT_ZONE, Zone
from possettle.doctor.catalog import BY_ID
from possettle.ledger.bad_frames import marks
from possettle.ledger.schema import batches, host_events, requests, terminal_reports
from possettle.status_report import StatusReport

# host events that mean something went wrong (the others are sign-on/off bookkeeping)
FAULT_KINDS = ("format_error", "mac_error", "refused", "version", "offline_refused_by_issuer")
FAILED = ("failed", "recovered")
# the host answered a settlement again from its store: the terminal's try before got no reply
# (host/handlers/settlement.py)
SETTLE_REPEATED = "settle_repeated"


def _batch_of(detail: str) -> int:
    try:
        found = json.loads(detail).get("batch")
    except (ValueError, AttributeError):
        return -1
    return found if isinstance(found, int) else -1


def _reported_failure(b: Any, report: dict[str, Any] | None) -> bool:
    return bool(report) and report.get("batch") == b.batch and report.get("ok") is False  # type: ignore[union-attr]


def _next_batch(batch: int) -> int:
    return 1 if batch >= 999_999 else batch + 1  # field 60.2 is six digits and wraps to 1


def recovered_by_report(b: Any, report: dict[str, Any] | None) -> bool:
    """The terminal's report says batch ``b`` settled only after a failure.

    After a failed settlement is finished (``possettle doctor --fix``, or the terminal's own
    resume), the doctor's verdict stands in the terminal's reports until a later settlement
    completes (terminal/scheduled_report.py): the report is ``ok`` for the *next* batch but
    still names the cause and the settlement step it found. The host keeps only the latest
    report, so this is how it knows the batch that just closed had failed first.
    """
    if not report or report.get("ok") is not True or b.status != "closed":
        return False
    if report.get("batch") != _next_batch(b.batch):
        return False
    return any(_settle_step(entry) for entry in report.get("causes") or [])


def _settle_step(entry: Any) -> str | None:
    if isinstance(entry, list) and len(entry) > 2 and isinstance(entry[2], str):
        return entry[2]
    return None


def classify(b: Any, report: dict[str, Any] | None, faults: int = 0) -> str:
    """The outcome of one batch row given the terminal's last report and the faults seen."""
    failed_report = _reported_failure(b, report)
    if b.status != "closed":
        if failed_report:
            return "failed"
        return "settling" if b.status == "settling" else "open"
    if failed_report or faults or recovered_by_report(b, report):
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


def attempts(recovered: bool, settle_requests: int) -> int | None:
    """How many times a recovered batch was settled, as far as the host can count: each 0500
    with a new STAN and each one sent again (``settle_repeated``); a recovery is never fewer
    than two (a ledger from before the host noted repeats has no trace of them)."""
    return max(settle_requests, 2) if recovered else None


def settlements(
    engine: Engine, *, zone: Zone | None = None, day: str = "", tid: str = "", result: str = ""
) -> dict[str, Any]:
    """Each batch that settled or tried to, with its outcome, and the figures for the charts.

    A settlement's day is the shop's calendar day in ``zone`` (the day its slip prints), and
    the success rate of a day counts exactly the rows the table lists for that day.
    """
    zone = zone or Zone.named(DEFAULT_ZONE)
    b, ev, rq = batches.c, host_events.c, requests.c
    with engine.connect() as conn:
        tries = {
            (r.tid, r.batch): int(r.n)
            for r in conn.execute(
                sa.select(rq.tid, rq.batch, sa.func.count(sa.distinct(rq.stan)).label("n"))
                .where(rq.mti == "0500")
                .group_by(rq.tid, rq.batch)
            )
        }
        repeats: Counter[tuple[str, int]] = Counter()
        for r in conn.execute(sa.select(ev.tid, ev.detail).where(ev.kind == SETTLE_REPEATED)):
            repeats[(r.tid, _batch_of(r.detail))] += 1
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
        repeated = repeats.get((r.tid, r.batch), 0)
        outcome = classify(r, report, len(seen) + repeated)
        if outcome == "open":
            continue  # still trading: not a settlement yet
        cause, step = top_cause(report, r.batch)
        if cause is None and outcome == "recovered" and recovered_by_report(r, report):
            cause, step = top_cause(report, _next_batch(r.batch))
        if cause is None and seen:
            cause, step = _cause_of_fault(seen[-1].kind), "settle"
        if step is None and repeated:
            step = "settle"  # its request went out again: the first try got no answer
        when = r.closed_at or r.settle_requested_at or r.opened_at
        items.append({
            "day": zone.day(when).isoformat(), "tid": r.tid, "mid": r.mid, "batch": r.batch,
            "status": r.status, "result": outcome, "step": step, "cause": cause,
            "attempts": attempts(
                outcome == "recovered", tries.get((r.tid, r.batch), 0) + repeated
            ),
            "repeated": repeated,
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
    """Per shop day: settlements tried (every row the table lists for that day), those that
    balanced at the first attempt (``ok``), those that failed and then balanced
    (``recovered``), those still failed or stuck (``failed``), and ``ok / tried``."""
    by_day: dict[str, Counter[str]] = {}
    for i in items:
        by_day.setdefault(i["day"], Counter())[i["result"]] += 1
    out = []
    for d in sorted(by_day):
        n = by_day[d]
        tried = n.total()
        ok = n["balanced"] + n["balanced_after_upload"]
        out.append({
            "day": d, "tried": tried, "ok": ok, "recovered": n["recovered"],
            "failed": n["failed"] + n["settling"], "rate": round(ok / tried, 4),
        })  # fmt: skip
    return out


def _cause_of_fault(kind: str) -> str:
    return {
        "mac_error": "keys.out_of_sync", "format_error": "protocol.incompatible",
        "version": "software.outdated", "refused": "permission.denied",
        "offline_refused_by_issuer": "issuer.unavailable",
    }.get(kind, "external.undetected")  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

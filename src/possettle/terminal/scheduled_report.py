"""What the terminal's scheduled status report (0820/362) says about it.

The report fits the one contract the host checks (:class:`possettle.status_report.StatusReport`).
The terminal knows its own counters — the open batch, reversals waiting, offline sales not yet
uploaded, slips not yet printed, a settlement left unfinished — and fills them in afresh each
time. What only a diagnosis knows (causes, areas) comes from the doctor's last summary, which
:func:`keep_verdict` keeps in the journal when the doctor sends it: that verdict stands until a
settlement completes after it or the doctor gives a newer one, so the host's stored report, and
the monitor's alerts that read it, do not lose a diagnosis to the next routine report.
"""

from __future__ import annotations

import json
from datetime import datetime

from possettle.status_report import MAX_REPORT, CheckStatus, StatusReport
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.records import SettleStep, TxnState
from possettle.terminal.journal.store import Journal

VERDICT = "doctor_verdict"  # journal meta: the doctor's last summary, as sent
VERDICT_AT = "doctor_verdict_at"


def keep_verdict(journal: Journal, raw: bytes) -> None:
    """Keep the doctor's summary (field 62's JSON) as the terminal's standing verdict."""
    with journal.write("meta") as conn:
        journal.set_meta(conn, VERDICT, raw.decode("utf-8"))
        journal.set_meta(conn, VERDICT_AT, journal.now())


def standing_verdict(journal: Journal) -> StatusReport | None:
    """The doctor's last summary, unless a settlement has completed since (or none fits)."""
    text, at = journal.get_meta(VERDICT), journal.get_meta(VERDICT_AT)
    verdict = StatusReport.read(text)
    if verdict is None or at is None:
        return None
    last = q.last_settlement(journal.conn)
    if (
        last is not None
        and last.step is SettleStep.DONE
        and last.finished_at
        and datetime.fromisoformat(last.finished_at) >= datetime.fromisoformat(at)
    ):
        return None
    return verdict


def scheduled_report(journal: Journal) -> StatusReport:
    """The report due now: the terminal's own counters and areas, the standing verdict's causes.

    ``ok`` is false while a settlement is unfinished or the standing verdict says so.
    """
    conn = journal.conn
    unfinished = q.unfinished_settlement(conn)
    reversals = len(q.pending_reversals(conn))
    own: dict[str, CheckStatus] = {}
    if unfinished is not None:
        own["batch"] = "fail"
    elif reversals:
        own["batch"] = "warn"
    if q.slips_waiting(conn):
        own["printer"] = "warn"
    verdict = standing_verdict(journal)
    return StatusReport(
        ok=unfinished is None and (verdict is None or verdict.ok),
        batch=q.current_batch(conn),
        causes=list(verdict.causes) if verdict else [],
        checks={**(verdict.checks if verdict else {}), **own},
        pending_reversals=reversals,
        offline_items=len(q.txns_in_state(conn, TxnState.OFFLINE_PENDING)),
    )


def encode(report: StatusReport) -> bytes:
    """Compact UTF-8 JSON within :data:`MAX_REPORT` bytes: the least likely causes go first.

    >>> encode(StatusReport(ok=True, batch=7, pending_reversals=0, offline_items=2))
    b'{"ok":true,"batch":7,"causes":[],"checks":{},"pending_reversals":0,"offline_items":2}'
    """
    causes = list(report.causes)
    while True:
        data = {**report.as_dict(), "causes": [list(c) for c in causes]}
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(raw) <= MAX_REPORT or not causes:
            return raw
        causes.pop()

"""What the ledger says about the fleet right now, read once for both metrics and alerts.

Metrics aggregate these readings into bounded labels; the alert engine evaluates its rules
over the very same readings, so a Prometheus server and the built-in engine see one truth.
Label values come only from closed sets (:func:`kind_of`, :func:`rc_class`,
:func:`cause_label`, :func:`step_label`) or from the acquirer's own registry (region, model,
software version): a TID or a PAN never becomes a label; TIDs stay inside the readings, for
an alert's list of affected terminals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.doctor.catalog import BY_ID, Step
from possettle.iso8583.codes import describe
from possettle.ledger.dayend import day_ends
from possettle.ledger.kinds import BatchStatus, TerminalStatus
from possettle.ledger.schema import (
    batches,
    ledger_entries,
    requests,
    terminal_reports,
    terminals,
)
from possettle.status_report import StatusReport

UNKNOWN = "unknown"
OTHER = "other"
NO_CAUSE = "none"  # rc_cause of a code that points at no cause (approved, a card decline)

# The message kinds a request's MTI names (labels: a closed set).
MTI_KINDS: dict[str, str] = {
    "0200": "authorization",
    "0220": "advice",
    "0400": "reversal",
    "0500": "settlement",
    "0320": "batch_upload",
    "0800": "network",
    "0820": "network",
}
SETTLEMENT_RESULTS = ("open", "balanced", "balanced_after_upload", "unbalanced")
_BALANCED = 1  # 0510 field 48 result: 1 balanced, 2/3 not (protocol §4)


def kind_of(mti: str) -> str:
    return MTI_KINDS.get(mti, OTHER)


def rc_class(code: str) -> str:
    """The response-code class A–E (codes.py); unknown codes count as D there too."""
    return describe(code).cls


def rc_cause(code: str) -> str:
    """The doctor's cause family of a code (codes.py), or ``none``: the alert rules count
    "issuer down" by it, so they and the doctor read a code alike."""
    return describe(code).cause or NO_CAUSE


def cause_label(cause_id: str) -> str:
    """A catalog cause id, or ``other``: a terminal cannot invent label values."""
    return cause_id if cause_id in BY_ID else OTHER


def group_label(cause_id: str) -> str:
    found = BY_ID.get(cause_id)
    return found.group.value if found else UNKNOWN


def step_label(step: object) -> str:
    return str(step) if step in {s.value for s in Step} else UNKNOWN


@dataclass(frozen=True, slots=True)
class TerminalReading:
    tid: str
    region: str
    model: str
    software_version: str
    active: bool
    last_seen_at: datetime | None
    stale: bool  # active, silent for longer than the threshold, and not closed for the day
    closed: bool = False  # ended its day on purpose (ledger/dayend.py)


@dataclass(frozen=True, slots=True)
class ReportReading:
    """A terminal's last doctor summary (terminal_reports), with the optional counters."""

    tid: str
    region: str
    ok: bool
    causes: tuple[tuple[str, float, str], ...]  # (cause, score, step), best first
    pending_reversals: int | None
    offline_items: int | None

    @property
    def top_cause(self) -> str | None:
        return self.causes[0][0] if self.causes else None


@dataclass(frozen=True, slots=True)
class BatchReading:
    tid: str
    region: str
    result: str  # one of SETTLEMENT_RESULTS
    first_entry_at: datetime | None  # open batches: when the oldest entry was booked


@dataclass(frozen=True, slots=True)
class RequestCount:
    tid: str
    region: str
    kind: str
    rc_class: str
    rc_cause: str  # rc_cause(): a catalog cause id or NO_CAUSE
    count: int


@dataclass(frozen=True, slots=True)
class Readings:
    now: datetime
    terminals: tuple[TerminalReading, ...]
    reports: tuple[ReportReading, ...]
    batches: tuple[BatchReading, ...]
    requests_total: tuple[RequestCount, ...]  # since the ledger began (Prometheus counters)
    requests_recent: tuple[RequestCount, ...]  # inside the alert window


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How old is too old; the rules file uses the same figures (see :mod:`.ruleset`)."""

    stale_after: timedelta = timedelta(minutes=30)
    settled_window: timedelta = timedelta(hours=24)
    request_window: timedelta = timedelta(hours=1)


def read(conn: Connection, now: datetime, th: Thresholds | None = None) -> Readings:
    """One consistent look at the ledger (callers pass a connection inside one transaction)."""
    th = th or Thresholds()
    terms = _terminals(conn, now, th.stale_after)
    regions = {t.tid: t.region for t in terms}
    return Readings(
        now=now,
        terminals=terms,
        reports=_reports(conn, regions),
        batches=_batches(conn, regions, now - th.settled_window),
        requests_total=_requests(conn, regions, None),
        requests_recent=_requests(conn, regions, now - th.request_window),
    )


def _terminals(
    conn: Connection, now: datetime, stale_after: timedelta
) -> tuple[TerminalReading, ...]:
    t = terminals.c
    rows = conn.execute(
        sa.select(t.tid, t.region, t.model, t.software_version, t.status, t.last_seen_at,
                  t.created_at, t.signed_on).order_by(t.tid)
    ).all()  # fmt: skip
    ends = day_ends(conn)
    out = []
    for r in rows:
        active = r.status == TerminalStatus.ACTIVE
        heard = r.last_seen_at or r.created_at
        closed = ends.closed(r.tid, bool(r.signed_on), r.last_seen_at)
        out.append(
            TerminalReading(
                r.tid, r.region or UNKNOWN, r.model or UNKNOWN, r.software_version or UNKNOWN,
                active, r.last_seen_at, active and not closed and now - heard > stale_after,
                active and closed,
            )
        )  # fmt: skip
    return tuple(out)


def _reports(conn: Connection, regions: dict[str, str]) -> tuple[ReportReading, ...]:
    out = []
    for tid, text in conn.execute(
        sa.select(terminal_reports.c.tid, terminal_reports.c.report).order_by(
            terminal_reports.c.tid
        )
    ):
        report = StatusReport.read(text)
        if report is None:
            continue  # a row stored before the host checked reports is not a metric
        causes = tuple((c, s, str(step)) for c, s, step in report.causes)
        out.append(
            ReportReading(
                tid, regions.get(tid, UNKNOWN), report.ok, causes,
                report.pending_reversals, report.offline_items,
            )
        )  # fmt: skip
    return tuple(out)


def _batches(
    conn: Connection, regions: dict[str, str], settled_since: datetime
) -> tuple[BatchReading, ...]:
    b, e = batches.c, ledger_entries.c
    first_entry = (
        sa.select(sa.func.min(e.created_at))
        .where(e.tid == b.tid, e.batch == b.batch)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(b.tid, b.status, b.result_domestic, b.result_foreign, first_entry)
        .where(sa.or_(b.status == BatchStatus.OPEN.value, b.settle_requested_at >= settled_since))
        .order_by(b.tid, b.batch)
    ).all()
    out = []
    for tid, status, dom, foreign, first_at in rows:
        if status == BatchStatus.OPEN:
            if first_at is None:
                continue  # an empty batch waiting for its first sale is not "open work"
            result = "open"
        elif {dom, foreign} <= {_BALANCED, None}:
            result = "balanced"
        elif status == BatchStatus.CLOSED:
            # out of balance, but the batch upload ended: settled, and any differences are
            # reconciliation exceptions now (causes.md, batch.out_of_balance)
            result = "balanced_after_upload"
        else:
            result = "unbalanced"  # out of balance and the upload has not finished
        out.append(BatchReading(tid, regions.get(tid, UNKNOWN), result, first_at))
    return tuple(out)


def _requests(
    conn: Connection, regions: dict[str, str], since: datetime | None
) -> tuple[RequestCount, ...]:
    r = requests.c
    stmt = sa.select(r.tid, r.mti, r.response_code, sa.func.count()).group_by(
        r.tid, r.mti, r.response_code
    )
    if since is not None:
        stmt = stmt.where(r.created_at >= since)
    merged: dict[tuple[str, str, str, str], int] = {}
    for tid, mti, code, n in conn.execute(stmt):
        key = (tid, kind_of(mti), rc_class(code), rc_cause(code))
        merged[key] = merged.get(key, 0) + int(n)
    return tuple(
        RequestCount(tid, regions.get(tid, UNKNOWN), kind, cls, cause, n)
        for (tid, kind, cls, cause), n in sorted(merged.items())
    )

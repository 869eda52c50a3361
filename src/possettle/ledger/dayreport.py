"""The end-of-day report: every terminal, settled or not, its totals, its failures and why.

The business day is a calendar day in the shop's zone (Asia/Shanghai unless told otherwise):
``[date 00:00, next day 00:00)`` local time, compared with the ledger's UTC timestamps. What
the ledger knows of a day, per terminal:

* **totals**: the entries booked in the day (``created_at``) by kind — sales (offline sales
  included), voids, refunds, reversals — and the net the batch totals count (debit − credit);
* **settlement**: each 0500 the host answered in the day (attempts), each batch that asked
  to settle or closed in the day with its result (balanced, balanced after a batch upload,
  still out of balance / settling) and its reconciliation exceptions;
* **failures**: every request the host answered with something other than ``00`` (the
  response code, its meaning and the doctor's cause family), MAC and format errors (from the
  bad-frame counters when the counter lies within the day, else the sampled frames: "at
  least"), and host events that carry a refusal (a version below the minimum, a refused
  status report).

A terminal is *settled* when every entry booked in the day is in a closed batch and it booked
or settled something; *unsettled* when an entry of the day is in a batch still open or
settling; *idle* when the day shows nothing. Amounts are integer minor units (fen).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.errors import ConfigError
from possettle.iso8583.codes import describe
from possettle.ledger.kinds import BatchStatus, EntryKind
from possettle.ledger.schema import (
    bad_frame_counts,
    bad_frame_samples,
    batches,
    host_events,
    ledger_entries,
    merchants,
    recon_exceptions,
    requests,
    terminals,
)

#: the shop's zone when none is configured (receipts print Beijing time)
DEFAULT_ZONE = "Asia/Shanghai"
SETTLE_MTI = "0500"


def zone(name: str) -> tzinfo:
    """An IANA zone name (``Asia/Shanghai``) or ``UTC`` as a tzinfo; ConfigError otherwise."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, LookupError) as exc:
        raise ConfigError(f"--zone: unknown time zone {name!r} (未知时区)") from exc


def business_day(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC bounds ``[start, end)`` of ``day`` in zone ``tz``."""
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Failure:
    """Something that went wrong in the day: what, how often, and the doctor's cause."""

    kind: str  # refusal | mac_error | format_error | event | settlement | recon
    code: str | None
    count: int
    cause: str | None
    en: str
    zh: str
    at_least: bool = False  # counted from the sampled frames only


@dataclass(frozen=True, slots=True)
class Settlement:
    batch: int
    status: str  # open | settling | closed
    result: str  # balanced | balanced_after_upload | unbalanced | settling | open
    settle_requested_at: datetime | None
    closed_at: datetime | None
    uploaded_records: int
    exceptions: int


@dataclass(slots=True)
class TerminalDay:
    tid: str
    mid: str
    merchant: str
    region: str | None
    status: str = "idle"  # settled | unsettled | idle
    sales_count: int = 0
    sales_amount: int = 0
    voids_count: int = 0
    voids_amount: int = 0
    refunds_count: int = 0
    refunds_amount: int = 0
    reversals_count: int = 0
    reversals_amount: int = 0
    net_amount: int = 0
    unsettled_count: int = 0
    settle_attempts: int = 0
    settlements: list[Settlement] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DayReport:
    day: date
    zone: str
    start: datetime
    end: datetime
    terminals: list[TerminalDay]

    def totals(self) -> dict[str, int]:
        keys = (
            "sales_count", "sales_amount", "voids_count", "voids_amount", "refunds_count",
            "refunds_amount", "reversals_count", "reversals_amount", "net_amount",
            "unsettled_count", "settle_attempts",
        )  # fmt: skip
        out = {k: sum(getattr(t, k) for t in self.terminals) for k in keys}
        for status in ("settled", "unsettled", "idle"):
            out[f"terminals_{status}"] = sum(t.status == status for t in self.terminals)
        out["failures"] = sum(f.count for t in self.terminals for f in t.failures)
        return out


_KIND_FIELDS = {
    EntryKind.SALE.value: "sales",
    EntryKind.OFFLINE.value: "sales",
    EntryKind.VOID.value: "voids",
    EntryKind.REFUND.value: "refunds",
    EntryKind.REVERSAL.value: "reversals",
}


def day_report(conn: Connection, day: date, zone_name: str = DEFAULT_ZONE) -> DayReport:
    """The report of business day ``day`` in ``zone_name``, every registered terminal."""
    start, end = business_day(day, zone(zone_name))
    t, m = terminals.c, merchants.c
    rows = conn.execute(
        sa.select(t.tid, t.mid, m.name, t.region)
        .join(merchants, m.mid == t.mid)
        .order_by(t.mid, t.tid)
    ).all()
    days = {r.tid: TerminalDay(r.tid, r.mid, r.name, r.region) for r in rows}
    _totals(conn, days, start, end)
    _settlements(conn, days, start, end)
    _refusals(conn, days, start, end)
    _bad_frames(conn, days, start, end)
    _events(conn, days, start, end)
    for d in days.values():
        if d.unsettled_count or any(s.status != BatchStatus.CLOSED for s in d.settlements):
            d.status = "unsettled"
        elif d.sales_count or d.voids_count or d.refunds_count or d.settlements:
            d.status = "settled"
    return DayReport(day, zone_name, start, end, list(days.values()))


def _in_day(column: Any, start: datetime, end: datetime) -> Any:
    return sa.and_(column >= start, column < end)


def _totals(conn: Connection, days: dict[str, TerminalDay], start: datetime, end: datetime) -> None:
    e, b = ledger_entries.c, batches.c
    by_kind = conn.execute(
        sa.select(
            e.tid, e.kind, sa.func.count(), sa.func.sum(e.amount),
            sa.func.sum(e.debit_amount), sa.func.sum(e.credit_amount),
        )
        .where(_in_day(e.created_at, start, end))
        .group_by(e.tid, e.kind)
    ).all()  # fmt: skip
    for tid, kind, count, amount, debit, credit in by_kind:
        d = days.get(tid)
        if d is None:
            continue
        name = _KIND_FIELDS[kind]
        setattr(d, f"{name}_count", getattr(d, f"{name}_count") + int(count))
        setattr(d, f"{name}_amount", getattr(d, f"{name}_amount") + int(amount or 0))
        d.net_amount += int(debit or 0) - int(credit or 0)
    open_entries = conn.execute(
        sa.select(e.tid, sa.func.count())
        .select_from(ledger_entries.outerjoin(batches, sa.and_(b.tid == e.tid, b.batch == e.batch)))
        .where(
            _in_day(e.created_at, start, end),
            sa.or_(b.status.is_(None), b.status != BatchStatus.CLOSED.value),
        )
        .group_by(e.tid)
    ).all()
    for tid, count in open_entries:
        if tid in days:
            days[tid].unsettled_count = int(count)


def _settlements(
    conn: Connection, days: dict[str, TerminalDay], start: datetime, end: datetime
) -> None:
    b, r, x = batches.c, requests.c, recon_exceptions.c
    attempts = conn.execute(
        sa.select(r.tid, sa.func.count())
        .where(r.mti == SETTLE_MTI, _in_day(r.created_at, start, end))
        .group_by(r.tid)
    ).all()
    for tid, count in attempts:
        if tid in days:
            days[tid].settle_attempts = int(count)
    rows = conn.execute(
        sa.select(batches)
        .where(
            sa.or_(
                _in_day(b.settle_requested_at, start, end),
                _in_day(b.closed_at, start, end),
            )
        )
        .order_by(b.tid, b.batch)
    ).all()
    exceptions: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    for tid, batch, category, count in conn.execute(
        sa.select(x.tid, x.batch, x.category, sa.func.count()).group_by(x.tid, x.batch, x.category)
    ):
        exceptions[(tid, int(batch))][category] = int(count)
    for row in rows:
        d = days.get(row.tid)
        if d is None:
            continue
        found = exceptions.get((row.tid, row.batch), {})
        result = _result(row)
        d.settlements.append(
            Settlement(
                row.batch,
                row.status,
                result,
                row.settle_requested_at,
                row.closed_at,
                row.uploaded_records,
                sum(found.values()),
            )
        )
        if result in ("balanced_after_upload", "unbalanced"):
            d.failures.append(
                Failure(
                    "settlement",
                    None,
                    1,
                    "batch.out_of_balance",
                    f"batch {row.batch:06d} out of balance"
                    + (", detail uploaded" if result == "balanced_after_upload" else ""),
                    f"批次 {row.batch:06d} 对账不平"
                    + ("（已上送明细）" if result == "balanced_after_upload" else ""),
                )
            )
        elif result == "settling":
            d.failures.append(
                Failure(
                    "settlement",
                    None,
                    1,
                    None,
                    f"batch {row.batch:06d} asked to settle and did not finish",
                    f"批次 {row.batch:06d} 结算未完成",
                )
            )
        for category, count in sorted(found.items()):
            d.failures.append(
                Failure(
                    "recon",
                    None,
                    count,
                    None,
                    f"batch {row.batch:06d}: reconciliation exception {category}",
                    f"批次 {row.batch:06d}：对账差错 {category}",
                )
            )


def _result(row: Any) -> str:
    if row.status == BatchStatus.OPEN:
        return "open"
    halves = {row.result_domestic, row.result_foreign} - {None}
    if row.status == BatchStatus.SETTLING:
        return "settling" if halves <= {1} else "unbalanced"
    return "balanced" if halves <= {1} and not row.uploaded_records else "balanced_after_upload"


def _refusals(
    conn: Connection, days: dict[str, TerminalDay], start: datetime, end: datetime
) -> None:
    r = requests.c
    rows = conn.execute(
        sa.select(r.tid, r.response_code, sa.func.count())
        .where(r.response_code != "00", _in_day(r.created_at, start, end))
        .group_by(r.tid, r.response_code)
        .order_by(r.tid, r.response_code)
    ).all()
    for tid, code, count in rows:
        if tid in days:
            rc = describe(code)
            days[tid].failures.append(Failure("refusal", code, int(count), rc.cause, rc.en, rc.zh))


_FRAME_TEXT = {
    "mac_error": ("A0", "keys.out_of_sync", "MAC error (bad MAC)", "MAC 校验错"),
    "format_error": ("30", "protocol.incompatible", "format error", "报文格式错误"),
}


def _bad_frames(
    conn: Connection, days: dict[str, TerminalDay], start: datetime, end: datetime
) -> None:
    c, s = bad_frame_counts.c, bad_frame_samples.c
    exact: dict[tuple[str, str], int] = {}
    for source, kind, frames in conn.execute(
        sa.select(c.source, c.kind, c.frames).where(c.first_at >= start, c.last_at < end)
    ):
        exact[(source, kind)] = int(frames)
    sampled: dict[tuple[str, str], int] = {}
    for source, kind, count in conn.execute(
        sa.select(s.source, s.kind, sa.func.count())
        .where(_in_day(s.at, start, end))
        .group_by(s.source, s.kind)
    ):
        sampled[(source, kind)] = int(count)
    for key in sorted(set(exact) | set(sampled)):
        tid, kind = key
        if tid not in days or kind not in _FRAME_TEXT:
            continue
        code, cause, en, zh = _FRAME_TEXT[kind]
        count = exact.get(key, sampled.get(key, 0))
        days[tid].failures.append(
            Failure(kind, code, count, cause, en, zh, at_least=key not in exact)
        )


#: (kind, code) of a host event: the cause and what to say; others read the code's meaning
_EVENT_TEXT = {
    ("refused", "58"): (
        "software.outdated",
        "sign-on refused: software below the host's minimum version",
        "签到被拒：终端软件版本低于主机要求的最低版本",
    ),
    ("report_refused", "30"): (
        "protocol.incompatible",
        "status report refused: it breaks the contract",
        "状态报告被拒：格式不符",
    ),
}


def _events(conn: Connection, days: dict[str, TerminalDay], start: datetime, end: datetime) -> None:
    h = host_events.c
    rows = conn.execute(
        sa.select(h.tid, h.kind, h.response_code, sa.func.count())
        .where(h.response_code.is_not(None), _in_day(h.at, start, end))
        .group_by(h.tid, h.kind, h.response_code)
        .order_by(h.tid, h.kind)
    ).all()
    for tid, kind, code, count in rows:
        if tid not in days:
            continue
        rc = describe(code)
        cause, en, zh = _EVENT_TEXT.get((kind, code), (rc.cause, f"{kind}: {rc.en}", rc.zh))
        days[tid].failures.append(Failure("event", code, int(count), cause, en, zh))

"""What the host knows about one terminal, and about the fleet around it.

Fleet context is what keeps the doctor from blaming each terminal's hardware for a shared
cause: the same issuer failing for many terminals, a region going dark together, one
software version failing. All reads; nothing here writes to the ledger.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from possettle.iso8583.codes import issuer_down_codes
from possettle.ledger.bad_frames import count_since, sources_since
from possettle.ledger.dayend import DayEnds, day_ends
from possettle.ledger.queries import get_policy
from possettle.ledger.schema import (
    batches,
    host_events,
    recon_exceptions,
    requests,
    terminal_reports,
    terminals,
)
from possettle.status_report import StatusReport

ISSUER_DOWN = issuer_down_codes()
WINDOW = timedelta(hours=1)
DARK_AFTER = timedelta(minutes=30)


@dataclass
class HostFacts:
    registered: bool
    tid: str = ""
    status: str = ""
    region: str = ""
    current_batch: int | None = None
    software_version: str = ""
    min_version: str = "000000"
    needs_signon: bool = False
    last_seen_at: datetime | None = None
    #: signed off, or settled with nothing since: silence is expected (ledger/dayend.py)
    closed_for_day: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)
    #: bad frames by kind (ledger/bad_frames.py): MAC errors since the last closed batch
    #: and the last sign-on, format errors since the last closed batch
    bad_frames: dict[str, int] = field(default_factory=dict)
    codes: Counter[str] = field(default_factory=Counter)  # this terminal's recent replies
    #: the terminal's last status report; None when it sent none or the row is unreadable
    last_report: StatusReport | None = None
    dark_after: timedelta = DARK_AFTER  # silence longer than this: the terminal is dark
    # open reconciliation breaks the host recorded for this terminal, newest first
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    # fleet
    region_terminals: int = 0
    region_dark: int = 0
    fleet_terminals: int = 0
    fleet_issuer_failing: int = 0  # terminals with issuer-down replies in the window
    version_terminals: int = 0
    version_failing: int = 0


def _aware(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def read_host(
    engine: sa.Engine, tid: str, now: datetime, dark_after: timedelta = DARK_AFTER
) -> HostFacts:
    since = now - WINDOW
    t = terminals.c
    with engine.connect() as conn:
        row = conn.execute(sa.select(terminals).where(t.tid == tid)).first()
        if row is None:
            return HostFacts(registered=False)
        facts = HostFacts(
            registered=True,
            tid=tid,
            status=str(row.status),
            region=str(row.region or ""),
            current_batch=int(row.current_batch),
            software_version=str(row.software_version or ""),
            needs_signon=bool(row.needs_signon),
            last_seen_at=_aware(row.last_seen_at),
            min_version=get_policy(conn, "min_version", "000000"),
            dark_after=dark_after,
        )
        ev = host_events.c
        # What the host saw since this terminal's last closed batch: errors from before a
        # settlement that went through are history.
        closed = conn.execute(
            sa.select(sa.func.max(batches.c.closed_at)).where(batches.c.tid == tid)
        ).scalar_one_or_none()
        after_close = sa.true() if closed is None else ev.at > closed
        recent = (
            sa.select(host_events)
            .where(ev.tid == tid, after_close)
            .order_by(ev.id.desc())
            .limit(100)
        )
        facts.events = [
            {"at": str(e.at), "kind": e.kind, "code": e.response_code or "", "detail": e.detail}
            for e in conn.execute(recent)
        ]
        # Bad frames are counted, not events: MAC errors matter until a sign-on mends the keys.
        closed_at, signon = _aware(closed), _aware(row.last_signon_at)
        keys_since = max((t for t in (closed_at, signon) if t is not None), default=None)
        facts.bad_frames = {
            "mac_error": count_since(conn, tid, keys_since).get("mac_error", 0),
            "format_error": count_since(conn, tid, closed_at).get("format_error", 0),
        }
        rq = requests.c
        facts.codes = Counter(
            str(c)
            for c in conn.execute(
                sa.select(rq.response_code).where(rq.tid == tid).order_by(rq.id.desc()).limit(50)
            ).scalars()
        )
        rx = recon_exceptions.c
        facts.exceptions = [
            {
                "batch": int(r.batch),
                "stan": str(r.stan),
                "category": str(r.category),
                "amount": int(r.amount),
            }
            for r in conn.execute(
                sa.select(rx.batch, rx.stan, rx.category, rx.amount)
                .where(rx.tid == tid, rx.status == "open")
                .order_by(rx.id.desc())
                .limit(20)
            )
        ]
        facts.last_report = StatusReport.read(
            conn.execute(
                sa.select(terminal_reports.c.report).where(terminal_reports.c.tid == tid)
            ).scalar_one_or_none()
        )
        ends = day_ends(conn)
        facts.closed_for_day = ends.closed(tid, bool(row.signed_on), facts.last_seen_at)
        _fleet(conn, facts, since, now, dark_after, ends)
    return facts


def _fleet(
    conn: sa.Connection,
    facts: HostFacts,
    since: datetime,
    now: datetime,
    dark_after: timedelta,
    ends: DayEnds,
) -> None:
    t, rq = terminals.c, requests.c
    fleet = conn.execute(
        sa.select(t.tid, t.region, t.software_version, t.last_seen_at, t.signed_on).where(
            t.status == "active"
        )
    ).all()
    facts.fleet_terminals = len(fleet)
    failing = set(
        conn.execute(
            sa.select(rq.tid)
            .where(rq.response_code.in_(ISSUER_DOWN), rq.created_at >= since)
            .distinct()
        ).scalars()
    )
    facts.fleet_issuer_failing = len(failing)
    # A version is failing when its terminals send what the host cannot parse or is refused
    # for (format errors, 58 at sign-on) — not when an issuer is down for everyone.
    ev = host_events.c
    troubled = set(
        conn.execute(
            sa.select(ev.tid).where(ev.kind == "refused", ev.at >= since).distinct()
        ).scalars()
    ) | sources_since(conn, "format_error", since)
    # "Dark" is relative to the fleet's freshest contact, not to the wall clock: a region is
    # dark when its terminals went quiet while the others kept talking to the host (after
    # hours, when everyone is quiet, no region stands out).
    seen_times = [s for s in (_aware(r.last_seen_at) for r in fleet) if s is not None]
    freshest = max(seen_times, default=now)
    for tid, region, version, seen, signed_on in fleet:
        seen = _aware(seen)
        if facts.region and region == facts.region and tid != facts.tid:  # the others
            facts.region_terminals += 1
            closed = ends.closed(tid, bool(signed_on), seen)
            if not closed and (seen is None or freshest - seen > dark_after):
                facts.region_dark += 1
        if facts.software_version and version == facts.software_version:
            facts.version_terminals += 1
            if tid in troubled:
                facts.version_failing += 1

"""When a terminal's day has ended on purpose, so that its silence is expected.

One definition shared by the alert engine and the metrics (:mod:`possettle.monitor`), the
console's fleet (*closed for the day*) and the doctor's host view: a shop closed for the
night must not look like an outage anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.ledger.schema import batches, ledger_entries, terminals

#: a terminal last heard this soon after its batch closed ended its day with that settlement
SETTLED_GRACE = timedelta(minutes=5)


def closed_for_day(
    signed_on: bool, last_seen: datetime | None, last_closed: datetime | None, open_entries: int
) -> bool:
    """Whether a terminal ended its day on purpose, so that its silence is expected.

    It signed off (or never signed on), or the last thing it did was the settlement that
    closed its batch and it has booked nothing since. Nothing is at risk on such a terminal;
    a shop closed for the night must not page anyone. A terminal that trades again, or signs
    on, is expected to report again.
    """
    if not signed_on:
        return True
    return (
        open_entries == 0
        and last_closed is not None
        and last_seen is not None
        and last_seen <= last_closed + SETTLED_GRACE
    )


@dataclass(frozen=True, slots=True)
class DayEnds:
    """What :func:`closed_for_day` needs besides the terminal row, per terminal."""

    last_closed: dict[str, datetime]  # when its last batch closed
    entries: dict[str, int]  # entries booked in its current batch

    def closed(self, tid: str, signed_on: bool, last_seen: datetime | None) -> bool:
        return closed_for_day(
            signed_on, last_seen, self.last_closed.get(tid), self.entries.get(tid, 0)
        )


def day_ends(conn: Connection, tid: str | None = None) -> DayEnds:
    """:class:`DayEnds` of every terminal (or just ``tid``), in two grouped reads."""
    b, e, t = batches.c, ledger_entries.c, terminals.c
    last = sa.select(b.tid, sa.func.max(b.closed_at)).where(b.closed_at.is_not(None))
    count = sa.select(e.tid, sa.func.count()).join(
        terminals, sa.and_(t.tid == e.tid, t.current_batch == e.batch)
    )
    if tid is not None:
        last, count = last.where(b.tid == tid), count.where(e.tid == tid)
    closed = conn.execute(last.group_by(b.tid)).all()
    entries = conn.execute(count.group_by(e.tid)).all()
    return DayEnds({k: at for k, at in closed}, {k: int(n) for k, n in entries})

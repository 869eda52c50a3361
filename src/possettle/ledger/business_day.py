"""The host's business-day cut-over (日切): which clearing date an instant belongs to.

A card scheme closes its clearing day before midnight: China UnionPay's day cut-over is
commonly given as 23:00 Beijing time, so a sale at 23:30 on 31 December is cleared with
1 January's files. The host therefore stamps every ledger entry with a *clearing date*
(``ledger_entries.clearing_date``) beside its calendar ``host_date``: an instant at or after
the cut-over local time belongs to the next day. Both the zone and the cut-over time are
configurable (``possettle host serve --timezone ZONE --cutover HH:MM``) because acquirers
differ; a cut-over of 00:00 makes the clearing date the local calendar date.

The date comes from the instant the host booked the entry (the project's one injectable
clock, :mod:`possettle.clock`), never from the terminal: an entry keeps the day it was made
even if its batch is settled after the cut-over.

>>> from datetime import UTC
>>> day = BusinessDay()
>>> day.clearing_date(datetime(2026, 12, 31, 14, 59, 59, tzinfo=UTC))  # 22:59:59 Beijing
datetime.date(2026, 12, 31)
>>> day.clearing_date(datetime(2026, 12, 31, 15, 0, 0, tzinfo=UTC))  # 23:00:00 Beijing
datetime.date(2027, 1, 1)
>>> BusinessDay.parse("00:00", "UTC").clearing_date(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
datetime.date(2026, 12, 31)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from possettle.clock import Clock
from possettle.errors import ConfigError

#: the host's zone when none is configured (CUP clears on Beijing time)
DEFAULT_TIMEZONE = "Asia/Shanghai"
#: the local time from which an instant belongs to the next clearing day (CUP: 23:00)
DEFAULT_CUTOVER = time(23, 0)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"--timezone: unknown time zone {name!r} (未知时区)") from exc


def parse_cutover(text: str) -> time:
    """``HH:MM`` (24-hour) as a time; ConfigError otherwise."""
    hh, sep, mm = text.strip().partition(":")
    if sep and len(hh) == 2 and len(mm) == 2 and hh.isdigit() and mm.isdigit():
        hour, minute = int(hh), int(mm)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ConfigError(
        f"--cutover: expected HH:MM (00:00 to 23:59), got {text!r} (日切时间格式错误)"
    )


@dataclass(frozen=True, slots=True)
class BusinessDay:
    """The host's clearing-day policy: its time zone and the local cut-over time."""

    timezone: str = DEFAULT_TIMEZONE
    cutover: time = DEFAULT_CUTOVER
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.cutover.tzinfo is not None or self.cutover.second or self.cutover.microsecond:
            raise ConfigError(f"cut-over must be a local HH:MM, got {self.cutover!r}")
        object.__setattr__(self, "_tz", _zone(self.timezone))

    @classmethod
    def parse(cls, cutover: str, timezone: str = DEFAULT_TIMEZONE) -> BusinessDay:
        """From the ``host serve`` options: ``--cutover HH:MM`` and ``--timezone ZONE``."""
        return cls(timezone, parse_cutover(cutover))

    def clearing_date(self, instant: datetime) -> date:
        """The clearing day of ``instant`` (timezone-aware): at or after the cut-over local
        time it is the next calendar day, before it the local calendar day."""
        if instant.tzinfo is None:
            raise ValueError("clearing_date needs a timezone-aware datetime")
        local = instant.astimezone(self._tz)
        day = local.date()
        if self.cutover != time(0, 0) and local.time() >= self.cutover:
            day += timedelta(days=1)
        return day

    def today(self, clock: Clock) -> date:
        """The clearing day it is now by ``clock``."""
        return self.clearing_date(clock.now())

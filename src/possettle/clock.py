"""The one injectable clock.

Domain code never calls ``time.time()`` or ``datetime.now()``; it is handed a :class:`Clock`.
Tests and the simulator use :class:`FixedClock` (or :class:`OffsetClock`) to freeze or
compress time.

>>> c = FixedClock(datetime(2026, 11, 26, 8, 30, 15, tzinfo=UTC))
>>> c.now().strftime("%H%M%S")
'083015'
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, for timeouts and latencies."""
        ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = start
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


class OffsetClock:
    """The system clock shifted by a fixed offset (clock skew, simulated days)."""

    def __init__(self, offset: timedelta, base: Clock | None = None) -> None:
        self._offset = offset
        self._base: Clock = base or SystemClock()

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def monotonic(self) -> float:
        return self._base.monotonic()

"""A budget of log lines for what anyone on the network can make the host say.

A refusal before any key is checked — an unknown or disabled terminal (``97``), a merchant
that does not match (``03``) — costs an attacker one frame and the host one log line. Left
alone, a flood of such frames fills the disk with the log (issue 10). :class:`LogBudget`
lets the first ``burst`` lines of an event through in each interval and counts the rest;
the first line let through after a quiet spell says how many were held back.

>>> from datetime import UTC, datetime
>>> from possettle.clock import FixedClock
>>> clock = FixedClock(datetime(2026, 12, 7, tzinfo=UTC))
>>> budget = LogBudget(clock, burst=2, interval=1.0)
>>> [budget.take("97") for _ in range(4)]
[0, 0, None, None]
>>> clock.advance(1.0)
>>> budget.take("97")  # two were held back in the interval before
2
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.clock import Clock

#: lines of one event let through per interval
BURST = 10
#: seconds
INTERVAL = 1.0


@dataclass(slots=True)
class _Spell:
    started: float
    taken: int = 0
    held: int = 0


class LogBudget:
    def __init__(self, clock: Clock, *, burst: int = BURST, interval: float = INTERVAL) -> None:
        self._clock = clock
        self._burst = burst
        self._interval = interval
        self._spells: dict[str, _Spell] = {}
        self._held_before: dict[str, int] = {}

    def take(self, event: str) -> int | None:
        """``None``: do not log this one. Otherwise log it, with the returned number of
        lines of the same event held back since the last one logged (``0``: none)."""
        now = self._clock.monotonic()
        spell = self._spells.get(event)
        if spell is None or now - spell.started >= self._interval:
            if spell is not None and spell.held:
                self._held_before[event] = self._held_before.get(event, 0) + spell.held
            spell = self._spells[event] = _Spell(now)
        if spell.taken >= self._burst:
            spell.held += 1
            return None
        spell.taken += 1
        return self._held_before.pop(event, 0)

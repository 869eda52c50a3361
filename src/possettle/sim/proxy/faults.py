"""What the adversity proxy does to traffic: one validated, immutable :class:`Faults`.

A ``Faults`` is data, swapped whole while the proxy runs (``proxy.faults = Faults(drop=1.0)``),
so a test can switch a fault on for one exchange and off again and no frame ever sees half a
change. Validation names the command-line option, because that is what a user typed; code
that builds ``Faults`` directly gets the same message.

>>> Faults(drop=0.1, delay_ms=50).summary()
'drop=0.1 delay=50ms'
>>> Faults(drop=2)
Traceback (most recent call last):
...
possettle.errors.ConfigError: --drop must be a probability from 0 to 1, got 2
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from enum import StrEnum

from possettle.errors import ConfigError


class Direction(StrEnum):
    """Which way frames are faulted: ``up`` is terminal → host, ``down`` is host → terminal."""

    BOTH = "both"
    UP = "up"
    DOWN = "down"

    def covers(self, way: Direction) -> bool:
        """Whether traffic flowing ``way`` (UP or DOWN) is subject to faults."""
        return self is Direction.BOTH or self is way


#: field → the CLI option a user sets it with (error messages and summaries use these)
OPTIONS = {
    "drop": "--drop",
    "delay_ms": "--delay",
    "jitter_ms": "--jitter",
    "duplicate": "--duplicate",
    "reorder": "--reorder",
    "reset": "--reset",
    "stall_after": "--stall-after",
    "stall_s": "--stall",
    "cut_after": "--cut-after",
    "refuse": "--refuse",
    "direction": "--direction",
}
PROBABILITIES = ("drop", "duplicate", "reorder", "reset")
_DURATIONS = {"delay_ms": "milliseconds", "jitter_ms": "milliseconds", "stall_s": "seconds"}
_UNITS = {"delay_ms": "ms", "jitter_ms": "ms", "stall_s": "s"}


@dataclass(frozen=True, slots=True)
class Faults:
    """The faults in force. Per-frame faults act on whole PS-CUP/1 frames in ``direction``:

    * ``drop``, ``duplicate``, ``reorder``, ``reset``: probabilities (0..1) per frame.
      Reorder holds a frame back and sends it after the next one (or when its sender
      closes); reset sends part of the frame, then resets both connections (RST).
    * ``delay_ms`` (+ up to ``jitter_ms`` more, uniformly) before each frame goes on.

    Per-connection faults:

    * ``stall_s``: after ``stall_after`` frames, forward nothing for that many seconds
      (once per connection; the sockets stay open).
    * ``cut_after``: forward that many bytes in ``direction`` (both ways added up), then
      close both sides — mid-frame if that is where the count ends; 0 closes at once.
    * ``refuse``: stop listening, so new connects fail as if the host were down;
      connections already open carry on.
    """

    drop: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    reset: float = 0.0
    stall_after: int = 0
    stall_s: float = 0.0
    cut_after: int | None = None
    refuse: bool = False
    direction: Direction = Direction.BOTH

    def __post_init__(self) -> None:
        for name in PROBABILITIES:
            p = getattr(self, name)
            if not _is_number(p) or not 0.0 <= p <= 1.0:
                raise ConfigError(f"{OPTIONS[name]} must be a probability from 0 to 1, got {p!r}")
        for name, unit in _DURATIONS.items():
            value = getattr(self, name)
            if not _is_number(value) or value < 0:
                raise ConfigError(
                    f"{OPTIONS[name]} must be a non-negative number of {unit}, got {value!r}"
                )
        for name in ("stall_after", "cut_after"):
            count = getattr(self, name)
            if count is not None and (type(count) is not int or count < 0):
                raise ConfigError(f"{OPTIONS[name]} must be a whole number ≥ 0, got {count!r}")
        if self.stall_after and not self.stall_s:
            raise ConfigError("--stall-after needs --stall (how many seconds to stall)")
        try:
            object.__setattr__(self, "direction", Direction(self.direction))
        except ValueError as exc:
            choices = ", ".join(d.value for d in Direction)
            raise ConfigError(
                f"--direction must be one of {choices}, got {self.direction!r}"
            ) from exc

    def active(self) -> dict[str, object]:
        """The faults that differ from none at all, keyed by field name."""
        quiet = Faults()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(quiet, f.name)
        }

    def summary(self) -> str:
        """One line for people: ``drop=0.1 delay=50ms`` (or ``none``)."""
        parts = []
        for name, value in self.active().items():
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            label = OPTIONS[name].removeprefix("--")
            parts.append(label if value is True else f"{label}={shown}{_UNITS.get(name, '')}")
        return " ".join(parts) or "none"


def _is_number(value: object) -> bool:
    """A finite int or float (not a bool, not NaN): NaN would compare false with every bound."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)

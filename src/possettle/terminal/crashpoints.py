"""Named crash points: power loss on purpose, at a place the journal must survive.

``POSSETTLE_CRASH_AT=NAME[:N]`` makes the process die abruptly (``os._exit``: no ``finally``,
no flush, no clean-shutdown marker) the N-th time (default 1) it passes point NAME. Points are
declared here, once, so ``possettle terminal crash-points`` can list them and a typo in the
environment variable is an error rather than a test that silently never crashes.

Journal writes have a point just before and just after their commit
(``journal.<write>.before`` / ``.after``); every message has one before it is sent, after it
left and after its reply arrived (``send.<kind>.before``, ``send.<kind>.after``,
``recv.<kind>.after``).

>>> points = CrashPoints.from_env({"POSSETTLE_CRASH_AT": "send.sale.after:2"})
>>> points.target
('send.sale.after', 2)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from possettle.errors import ConfigError

ENV = "POSSETTLE_CRASH_AT"
# A file to append the name of every point passed to, one per line (tests use it to prove they
# crash at *every* point an operation passes).
TRACE_ENV = "POSSETTLE_CRASH_TRACE"
# ``power`` (the default) dies with os._exit; ``exception`` raises InjectedCrash instead, a
# software crash: the core's ``Pos.session`` journals it (``software_crash``) before it ends, so
# the doctor can tell the two apart afterwards.
MODE_ENV = "POSSETTLE_CRASH_MODE"
# The exit status of a process killed by SIGKILL, so scripts see "power cut" either way.
EXIT_STATUS = 137

JOURNAL_WRITES = (
    "txn_intent",
    "txn_outcome",
    "reversal_outcome",
    "advice_outcome",
    "sign_on",
    "settle_begin",
    "settle_intent",
    "settle_reply",
    "upload_intent",
    "upload_marked",
    "upload_end_intent",
    "upload_end_reply",
    "slip_queued",
    "printed",
    "batch_closed",
    "receipt_queued",
    "operator",
    "refused",
)
MESSAGES = (
    "sign_on",
    "echo",
    "sign_off",
    "sale",
    "void",
    "refund",
    "balance",
    "offline_advice",
    "reversal",
    "settlement",
    "batch_upload",
    "upload_end",
    "status_report",
)


def _all_points() -> tuple[str, ...]:
    points: list[str] = []
    for write in JOURNAL_WRITES:
        points += [f"journal.{write}.before", f"journal.{write}.after"]
    for kind in MESSAGES:
        points += [f"send.{kind}.before", f"send.{kind}.after", f"recv.{kind}.after"]
    return tuple(points)


POINTS: tuple[str, ...] = _all_points()


class InjectedCrash(Exception):
    """A software crash injected at a crash point (``POSSETTLE_CRASH_MODE=exception``)."""

    def __init__(self, point: str) -> None:
        super().__init__(f"injected software crash at {point}")
        self.point = point


def _die() -> None:
    sys.stderr.write("possettle: power cut at a crash point\n")
    sys.stderr.flush()
    os._exit(EXIT_STATUS)


class CrashPoints:
    """Counts passes through named points and dies at the configured one."""

    def __init__(
        self,
        target: tuple[str, int] | None = None,
        die: Callable[[], None] = _die,
        trace: Path | None = None,
    ) -> None:
        self.target = target
        self._die = die
        self._trace = trace
        self._passes: dict[str, int] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CrashPoints:
        env = os.environ if environ is None else environ
        raw = env.get(ENV, "").strip()
        trace = Path(env[TRACE_ENV]) if env.get(TRACE_ENV) else None
        if not raw:
            return cls(trace=trace)
        mode = env.get(MODE_ENV, "power").strip() or "power"
        if mode not in ("power", "exception"):
            raise ConfigError(f"{MODE_ENV}={mode!r}: expected 'power' or 'exception'")
        name, _, count = raw.partition(":")
        if name not in POINTS:
            raise ConfigError(
                f"{ENV}={raw!r}: no crash point {name!r}; "
                "`possettle terminal crash-points` lists them"
            )
        if count and (not count.isdigit() or int(count) < 1):
            raise ConfigError(f"{ENV}={raw!r}: the count after ':' must be a positive integer")
        target = (name, int(count) if count else 1)
        if mode == "exception":

            def raise_crash() -> None:
                raise InjectedCrash(name)

            return cls(target, die=raise_crash, trace=trace)
        return cls(target, trace=trace)

    def hit(self, name: str) -> None:
        """Pass point ``name``; die here if it is the configured point and pass."""
        if name not in POINTS:
            raise ValueError(f"undeclared crash point {name!r}")  # our bug, not the user's
        if self._trace is not None:
            with self._trace.open("a", encoding="utf-8") as f:
                f.write(name + "\n")
        if self.target is None or self.target[0] != name:
            return
        self._passes[name] = self._passes.get(name, 0) + 1
        if self._passes[name] == self.target[1]:
            self._die()

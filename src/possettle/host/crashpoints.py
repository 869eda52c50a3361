"""Named crash points in the host: ``kill -9`` on purpose, at a place the ledger must survive.

``POSSETTLE_HOST_CRASH_AT=NAME[:N]`` makes the host SIGKILL itself the N-th time (default 1)
it passes point NAME — a real SIGKILL, so nothing is flushed and no ``finally`` runs. Unset,
every point is a no-op. Points are declared here once, so a typo in the variable is an error
at start rather than a test that silently never crashes.

The points along one upstream reversal, in the order a request passes them:

* ``upstream.timed_out`` — the issuer did not answer; the ``98`` and its reversal are not
  committed yet (the intent written before the request went out is);
* ``upstream.reversal_stored`` — the ``98`` and the pending reversal are committed; the
  terminal has not been answered;
* ``reversal.claimed`` — the sender holds a lease on the reversal; the 0400 has not gone;
* ``reversal.retry_scheduled`` — an attempt got no final answer and its back-off is committed;
* ``reversal.answered`` — a 0410 arrived and is not recorded yet;
* ``reversal.acknowledged`` — the acknowledgement is committed.

>>> HostCrashPoints.from_env({"POSSETTLE_HOST_CRASH_AT": "reversal.claimed:2"}).target
('reversal.claimed', 2)
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Mapping

from possettle.errors import ConfigError

ENV = "POSSETTLE_HOST_CRASH_AT"

POINTS: tuple[str, ...] = (
    "upstream.timed_out",
    "upstream.reversal_stored",
    "reversal.claimed",
    "reversal.retry_scheduled",
    "reversal.answered",
    "reversal.acknowledged",
)


def _sigkill() -> None:
    sys.stderr.write("possettle host: SIGKILL at a crash point\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class HostCrashPoints:
    """Counts passes through named points and kills the process at the configured one."""

    def __init__(
        self, target: tuple[str, int] | None = None, die: Callable[[], None] = _sigkill
    ) -> None:
        self.target = target
        self._die = die
        self._passes = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HostCrashPoints:
        env = os.environ if environ is None else environ
        raw = env.get(ENV, "").strip()
        if not raw:
            return cls()
        name, _, count = raw.partition(":")
        if name not in POINTS:
            raise ConfigError(f"{ENV}={raw!r}: no host crash point {name!r} ({', '.join(POINTS)})")
        if count and (not count.isdigit() or int(count) < 1):
            raise ConfigError(f"{ENV}={raw!r}: the count after ':' must be a positive integer")
        return cls((name, int(count) if count else 1))

    def hit(self, name: str) -> None:
        """Pass point ``name``; die here if it is the configured point and pass."""
        if name not in POINTS:
            raise ValueError(f"undeclared host crash point {name!r}")  # our bug
        if self.target is None or self.target[0] != name:
            return
        self._passes += 1
        if self._passes == self.target[1]:
            self._die()

"""Bad frames are counted in memory and written at most once per interval, never a row each.

A flood of format errors (``30``) or bad MACs (``A0``) must cost the host no ledger write and
no log line per frame (issue 10). :class:`BadFrameRecorder` keeps, per process:

* a tally per (TID as the frame named it, kind) — at most :data:`MAX_PENDING` distinct TIDs
  wait for a write: reaching it writes at once, and past four times that (a write is slow
  to come) a new TID is pooled as unregistered straight away;
* a ring of the most recent frames (``HostConfig.bad_frame_sample_size``), masked already.

When it writes: the first bad frame after a quiet interval is written before it is answered
(the doctor, run right after a ``30``, finds it); those that follow within the interval are
written together when it ends; whatever is left at shutdown is written by
:meth:`BadFrameRecorder.aclose`. A write that fails keeps its tallies for the next one.
:mod:`possettle.ledger.bad_frames` says what the ledger keeps (registered TIDs only, a
bounded sample, retention).

Logging follows the same rule: the first :data:`LOG_BURST` bad frames of an interval are
logged in full (:meth:`BadFrameRecorder.add` says which), the write logs how many were not.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter, deque
from datetime import timedelta

import structlog

from possettle.host.config import HostConfig
from possettle.host.observer import HostObserver
from possettle.ledger.bad_frames import UNREGISTERED, Sample, Tally, write_bad_frames
from possettle.ledger.database import Database
from possettle.ledger.errors import LedgerError
from possettle.ledger.kinds import BadFrameKind

log = structlog.get_logger("possettle.host")

#: distinct TIDs gathered before a write is due anyway
MAX_PENDING = 1024
#: bad frames logged in full per interval
LOG_BURST = 10


class BadFrameRecorder:
    def __init__(self, db: Database, config: HostConfig, observer: HostObserver) -> None:
        self._db = db
        self._observer = observer
        self._interval = config.bad_frame_flush_interval
        self._keep = max(config.bad_frame_sample_size, 0)
        self._retention = timedelta(seconds=config.bad_frame_retention)
        self._tallies: dict[tuple[str | None, BadFrameKind], Tally] = {}
        self._samples: deque[Sample] = deque(maxlen=self._keep)
        self._logged = 0
        self._quiet: Counter[str] = Counter()  # counted but not logged in full, by kind
        self._last_write = -math.inf  # monotonic
        self._lock = asyncio.Lock()
        #: the latest timed write, kept so that a failure of it surfaces (in aclose)
        self._timer: asyncio.Task[None] | None = None
        self._timer_due = False
        #: bad frames written to the ledger since start, by kind (tests, the shutdown line)
        self.written: Counter[str] = Counter()

    def add(self, kind: BadFrameKind, tid: str | None, code: str, detail: str) -> bool:
        """Count one bad frame in memory (``detail``: masked JSON); True: log it in full."""
        at = self._db.clock.now()
        if (tid, kind) not in self._tallies and len(self._tallies) >= 4 * MAX_PENDING:
            tid = UNREGISTERED  # memory stays bounded while a write is slow to come
        key = (tid, kind)
        tally = Tally(1, at, at)
        self._tallies[key] = self._tallies[key].plus(tally) if key in self._tallies else tally
        self._samples.append(Sample(at, tid, kind, code, detail))
        self._observer.bad_frame(kind.value)
        if self._logged < LOG_BURST:
            self._logged += 1
            return True
        self._quiet[kind.value] += 1
        return False

    async def settle(self) -> None:
        """After :meth:`add`: write now if nothing was written for an interval (or too many
        TIDs wait), else make sure a write follows within one interval."""
        now = asyncio.get_running_loop().time()
        quiet = not self._timer_due and now - self._last_write >= self._interval
        if quiet or len(self._tallies) >= MAX_PENDING:
            await self.flush()
        elif not self._timer_due and self._tallies:
            self._schedule(max(self._last_write + self._interval - now, 0.0))

    def _schedule(self, delay: float) -> None:
        self._timer_due = True
        self._timer = asyncio.create_task(self._later(delay))

    async def _later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._timer_due = False  # frames counted during this write schedule the next one
        await self.flush()

    async def flush(self) -> None:
        """Write what was gathered in one ledger transaction (a no-op when nothing was)."""
        async with self._lock:
            if not self._tallies:
                return
            tallies, samples = self._tallies, list(self._samples)
            self._tallies, self._samples = {}, deque(maxlen=self._keep)
            quiet, self._quiet, self._logged = self._quiet, Counter(), 0
            self._last_write = asyncio.get_running_loop().time()
            oldest = self._db.clock.now() - self._retention
            keep = self._keep
            try:
                await self._db.write(
                    lambda c: write_bad_frames(c, tallies, samples, keep=keep, oldest=oldest)
                )
            except LedgerError as exc:
                self._put_back(tallies, samples)
                log.error("bad-frame counts not written, kept for the next write", error=str(exc))
                if not self._timer_due:
                    self._schedule(self._interval)
                return
        counts: Counter[str] = Counter()
        for (_, kind), tally in tallies.items():
            counts[kind.value] += tally.count
        self.written.update(counts)
        if quiet:
            log.warning("bad frames counted", **dict(counts), not_logged=sum(quiet.values()))

    def _put_back(
        self, tallies: dict[tuple[str | None, BadFrameKind], Tally], samples: list[Sample]
    ) -> None:
        for key, tally in tallies.items():
            now = self._tallies.get(key)
            self._tallies[key] = tally if now is None else tally.plus(now)
        self._samples = deque([*samples, *self._samples], maxlen=self._keep)

    async def aclose(self) -> None:
        """Write what is left (shutdown). A timed write still waiting is replaced by this
        one; one that failed raises here."""
        timer, sleeping = self._timer, self._timer_due
        self._timer, self._timer_due = None, False
        if timer is not None:
            if sleeping:  # not yet writing: this write does its work
                timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        await self.flush()

"""Send fuzzed frames to a host over real sockets and tally what comes back.

Several connections run at once, each sending one frame and waiting for its outcome before
the next: a reply (tallied by its response code), the host closing the connection, or no
answer within ``reply_timeout``. A frame that is not exactly one whole frame (cut short,
trailing bytes, a lying length) is followed by a half-close, so the host sees the end of the
stream instead of waiting out its frame timeout; the connection is then done. Whenever the
host closes a connection the worker opens a new one.

Nothing here judges the host: :class:`Tally` is the evidence, the caller asserts on it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from possettle.iso8583 import codec
from possettle.iso8583.errors import CodecError
from possettle.iso8583.framing import Frame, FrameReader
from possettle.sim.errors import FuzzDriverError
from possettle.sim.fuzz.plan import Mutant

CLOSED = "closed"
TIMEOUT = "timeout"
UNREADABLE = "unreadable reply"
#: consecutive failed connects after which the host is taken for dead
CONNECT_ATTEMPTS = 20
SAMPLES = 10


@dataclass
class Tally:
    """Outcomes of a run. ``replies`` counts reply frames by field 39 (``"--"``: none)."""

    frames: int = 0
    replies: collections.Counter[str] = field(default_factory=collections.Counter)
    closed: int = 0
    timeouts: int = 0
    unreadable: int = 0
    connections: int = 0
    connect_errors: int = 0
    seconds: float = 0.0
    #: outcome counts per mutator stack ("bad_bcd+trailing_bytes": {"30": 12, "closed": 3})
    by_kind: dict[str, collections.Counter[str]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    #: a few frames (index, kind) per worrying outcome, to replay with Plan.mutant(index)
    samples: dict[str, list[tuple[int, str]]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def note(self, mutant: Mutant, outcome: str) -> None:
        self.by_kind[mutant.kind][outcome] += 1
        if outcome in (TIMEOUT, UNREADABLE) and len(self.samples[outcome]) < SAMPLES:
            self.samples[outcome].append((mutant.index, mutant.kind))

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "replies": dict(sorted(self.replies.items())),
            "closed": self.closed,
            "timeouts": self.timeouts,
            "unreadable_replies": self.unreadable,
            "connections": self.connections,
            "connect_errors": self.connect_errors,
            "seconds": round(self.seconds, 3),
            "frames_per_s": round(self.frames_per_s, 1),
            "by_kind": {k: dict(v) for k, v in sorted(self.by_kind.items())},
            "samples": {k: list(v) for k, v in self.samples.items()},
        }

    def summary(self) -> str:
        codes = " ".join(f"{c}:{n}" for c, n in sorted(self.replies.items()))
        return (
            f"{self.frames} frames in {self.seconds:.1f}s ({self.frames_per_s:.0f}/s) · "
            f"replies {codes or '-'} · closed {self.closed} · timeouts {self.timeouts} · "
            f"unreadable replies {self.unreadable} · connections {self.connections}"
        )


def whole_frame(data: bytes) -> bool:
    """True when ``data`` is exactly one frame as the host's reader will cut it."""
    reader = FrameReader()
    try:
        return len(reader.feed(data)) == 1 and reader.pending == 0
    except CodecError:
        return False


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.frames = FrameReader()
        self.pending: collections.deque[Frame] = collections.deque()

    async def next_frame(self) -> Frame | None:
        """The next reply frame; None when the host closed the connection."""
        while not self.pending:
            try:
                data = await self.reader.read(8192)
            except ConnectionError:
                return None
            if not data:
                return None
            self.pending.extend(self.frames.feed(data))  # CodecError: an unreadable reply
        return self.pending.popleft()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


class FuzzDriver:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        connections: int = 8,
        reply_timeout: float = 10.0,
        progress: Callable[[int], None] | None = None,
        progress_every: int = 1000,
    ) -> None:
        if connections < 1:
            raise ValueError("connections must be at least 1")
        self.host, self.port = host, port
        self.connections, self.reply_timeout = connections, reply_timeout
        self.progress, self.progress_every = progress, progress_every

    async def run(self, mutants: Iterable[Mutant]) -> Tally:
        tally = Tally()
        source = iter(mutants)
        started = time.perf_counter()
        try:
            async with asyncio.TaskGroup() as tg:
                for _ in range(self.connections):
                    tg.create_task(self._worker(source, tally))
        except* FuzzDriverError as group:
            raise group.exceptions[0] from None
        finally:
            tally.seconds = time.perf_counter() - started
        return tally

    async def _connect(self, tally: Tally) -> _Connection:
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                async with asyncio.timeout(self.reply_timeout):
                    reader, writer = await asyncio.open_connection(self.host, self.port)
            except (OSError, TimeoutError):
                tally.connect_errors += 1
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
                continue
            tally.connections += 1
            return _Connection(reader, writer)
        raise FuzzDriverError(
            f"cannot connect to {self.host}:{self.port} ({CONNECT_ATTEMPTS} attempts)"
        )

    async def _worker(self, source: Iterator[Mutant], tally: Tally) -> None:
        conn: _Connection | None = None
        try:
            for mutant in source:
                if conn is None:
                    conn = await self._connect(tally)
                keep = await self._exchange(conn, mutant, tally)
                tally.frames += 1
                if self.progress is not None and tally.frames % self.progress_every == 0:
                    self.progress(tally.frames)
                if not keep:
                    await conn.close()
                    conn = None
        finally:
            if conn is not None:
                await conn.close()

    async def _exchange(self, conn: _Connection, mutant: Mutant, tally: Tally) -> bool:
        """Send one mutant, tally its outcome; False when the connection is done."""
        single = whole_frame(mutant.data)
        try:
            conn.writer.write(mutant.data)
            if not single:
                conn.writer.write_eof()
            await conn.writer.drain()
        except ConnectionError:
            self._outcome(tally, mutant, CLOSED)
            return False
        try:
            async with asyncio.timeout(self.reply_timeout):
                while True:
                    frame = await conn.next_frame()
                    if frame is None:
                        self._outcome(tally, mutant, CLOSED)
                        return False
                    self._outcome(tally, mutant, _code(frame))
                    if single:
                        return True
        except TimeoutError:
            self._outcome(tally, mutant, TIMEOUT)
        except CodecError:
            self._outcome(tally, mutant, UNREADABLE)
        return False

    @staticmethod
    def _outcome(tally: Tally, mutant: Mutant, outcome: str) -> None:
        if outcome == CLOSED:
            tally.closed += 1
        elif outcome == TIMEOUT:
            tally.timeouts += 1
        elif outcome == UNREADABLE:
            tally.unreadable += 1
        else:
            tally.replies[outcome] += 1
        tally.note(mutant, outcome)


def _code(frame: Frame) -> str:
    """Field 39 of a reply; a reply the codec cannot read is a host bug (``CodecError``)."""
    return codec.decode(frame.body).get("39", "--")

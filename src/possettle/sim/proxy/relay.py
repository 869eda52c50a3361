"""One proxied connection: two pumps (up: terminal → host, down: host → terminal).

Each pump reads what its side sent, cuts it into frames (:class:`FrameSplitter`), asks
:func:`decide` what to do with each frame in a faulted direction and does it. The faults are
read afresh for every frame, so a change made while the proxy runs applies to the next frame.
A pump that sees its sender close passes on what it still holds (a held frame, half a frame)
and half-closes the other side, so an orderly close travels through the proxy as it came.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from possettle.sim.proxy.faults import Direction, Faults
from possettle.sim.proxy.plan import Action, FrameSplitter, Piece, cut_allowance, decide

log = structlog.get_logger("possettle.sim.proxy")

READ_SIZE = 65536
# Between the part of a frame and the RST. Without it both arrive together, and an asyncio
# peer's StreamReader raises the reset before handing over the bytes that came first: the
# peer would never be left holding half a frame, which is the fault asked for.
RESET_PAUSE = 0.05
COUNTERS = (
    "connections", "refused", "target_unreachable", "frames_up", "frames_down", "bytes_up",
    "bytes_down", "unframed_bytes", "dropped", "duplicated", "delayed", "reordered", "reset",
    "cut", "stalled",
)  # fmt: skip
WAYS = (Direction.UP, Direction.DOWN)


class Counters:
    """What the proxy did, by name (all names present from the start, at 0)."""

    def __init__(self) -> None:
        self._values = dict.fromkeys(COUNTERS, 0)

    def add(self, name: str, n: int = 1) -> None:
        self._values[name] += n

    def as_dict(self) -> dict[str, int]:
        return dict(self._values)


def reset_now(writer: asyncio.StreamWriter) -> None:
    """Abort with SO_LINGER 0, so the peer gets an RST rather than an orderly FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass
class Relay:
    """A terminal's connection and ours to the target, with the faults that reach them."""

    client: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    target: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    faults: Callable[[], Faults]
    counters: Counters
    rngs: dict[Direction, random.Random]
    sent: dict[Direction, int] = field(default_factory=lambda: dict.fromkeys(WAYS, 0))
    frames: int = 0  # frames seen in faulted directions (for --stall-after)
    stalled: bool = False
    ended: bool = False

    async def run(self) -> None:
        if self.faults().cut_after == 0:
            self._end(reset=False)
            self.counters.add("cut")
            return
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._pump(Direction.UP, self.client[0], self.target[1]))
                tg.create_task(self._pump(Direction.DOWN, self.target[0], self.client[1]))
        finally:
            self._end(reset=False)

    def _end(self, *, reset: bool) -> None:
        """Close both sides (RST when ``reset``); the other pump then reads end-of-file."""
        self.ended = True
        for writer in (self.client[1], self.target[1]):
            if reset:
                reset_now(writer)
            else:
                writer.close()

    async def _pump(
        self, way: Direction, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        splitter = FrameSplitter()
        held: list[bytes] = []  # a frame held back by reorder, sent after the next one
        while not self.ended:
            try:
                data = await reader.read(READ_SIZE)
            except OSError:
                # The sender reset its connection: the other side learns it the same way.
                self._end(reset=True)
                return
            if not data:
                break
            for piece in splitter.feed(data):
                if not await self._piece(way, piece, writer, held):
                    return
        if self.ended:
            return
        rest = [*held, splitter.flush()]
        for data in filter(None, rest):
            if not await self._send(way, writer, data):
                return
        if writer.can_write_eof() and not writer.is_closing():
            with contextlib.suppress(OSError):
                writer.write_eof()

    async def _piece(
        self, way: Direction, piece: Piece, writer: asyncio.StreamWriter, held: list[bytes]
    ) -> bool:
        """Carry out one piece's fate; False once the connection is over."""
        faults = self.faults()
        if not piece.framed:
            self.counters.add("unframed_bytes", len(piece.data))
            return await self._send(way, writer, piece.data)
        self.counters.add(f"frames_{way}")
        if not faults.direction.covers(way):
            return await self._send(way, writer, piece.data)
        self.frames += 1
        if faults.stall_s and not self.stalled and self.frames > faults.stall_after:
            self.stalled = True
            self.counters.add("stalled")
            log.info("stalling", way=str(way), seconds=faults.stall_s)
            await asyncio.sleep(faults.stall_s)
        plan = decide(faults, self.rngs[way], len(piece.data))
        if plan.delay:
            self.counters.add("delayed")
            await asyncio.sleep(plan.delay)
        if plan.action is Action.DROP:
            self.counters.add("dropped")
            return True
        if plan.action is Action.RESET:
            self.counters.add("reset")
            log.info("reset mid-frame", way=str(way), sent=plan.reset_at, of=len(piece.data))
            if await self._send(way, writer, piece.data[: plan.reset_at]):
                await asyncio.sleep(RESET_PAUSE)
                self._end(reset=True)
            return False
        if plan.action is Action.HOLD and not held:
            self.counters.add("reordered")
            held.append(piece.data)
            return True
        if plan.copies > 1:
            self.counters.add("duplicated")
        for data in [piece.data] * plan.copies + held:
            if not await self._send(way, writer, data):
                return False
        held.clear()
        return True

    async def _send(self, way: Direction, writer: asyncio.StreamWriter, data: bytes) -> bool:
        """Write ``data`` unless the cut-after budget ends first; False once the connection is
        over (cut, or the other side went away)."""
        if self.ended:
            return False
        faults = self.faults()
        allowed = None
        if faults.direction.covers(way):
            used = sum(self.sent[w] for w in WAYS if faults.direction.covers(w))
            allowed = cut_allowance(faults, used, len(data))
        chunk = data if allowed is None else data[:allowed]
        try:
            if chunk:
                writer.write(chunk)
                await writer.drain()
        except OSError:
            self._end(reset=False)
            return False
        self.sent[way] += len(chunk)
        self.counters.add(f"bytes_{way}", len(chunk))
        if allowed is not None:
            self.counters.add("cut")
            log.info("cut", after_bytes=faults.cut_after)
            self._end(reset=False)
            return False
        return True

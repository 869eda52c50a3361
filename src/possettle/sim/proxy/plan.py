"""The proxy's decisions, sans-IO: where frames end, what happens to each, how far a cut goes.

Nothing here touches a socket or a clock, so the fault logic is tested (and reasoned about)
apart from asyncio; :mod:`possettle.sim.proxy.relay` only carries the decisions out.

>>> s = FrameSplitter()
>>> [p.framed for p in s.feed(bytes.fromhex("0015") + bytes(21) + b"\\x00")]
[True]
>>> s.pending
1
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from enum import Enum

from possettle.iso8583.errors import FramingError
from possettle.iso8583.framing import check_length
from possettle.sim.proxy.faults import Faults

LEN_PREFIX = 2


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes to pass on: a whole frame (LEN prefix included) or, unframed, bytes as they came."""

    data: bytes
    framed: bool


class FrameSplitter:
    """Cut a PS-CUP/1 byte stream into whole frames, LEN prefix included, bytes untouched.

    Unlike :class:`~possettle.iso8583.framing.FrameReader` it does not parse: the proxy must
    forward exactly the bytes it got. A length the protocol forbids (0, over 4096, shorter
    than a header) is the peer's framing error for the other side to see, not the proxy's to
    hide, so from there on the stream passes through unframed.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.unframed = False

    def feed(self, data: bytes) -> list[Piece]:
        if self.unframed:
            return [Piece(data, framed=False)] if data else []
        self._buf += data
        pieces: list[Piece] = []
        while len(self._buf) >= LEN_PREFIX:
            (length,) = struct.unpack_from(">H", self._buf)
            try:
                check_length(length)
            except FramingError:
                self.unframed = True
                pieces.append(Piece(self.flush(), framed=False))
                break
            end = LEN_PREFIX + length
            if len(self._buf) < end:
                break
            pieces.append(Piece(bytes(self._buf[:end]), framed=True))
            del self._buf[:end]
        return pieces

    def flush(self) -> bytes:
        """The bytes of an unfinished frame (its sender closed mid-frame): pass them on."""
        rest = bytes(self._buf)
        self._buf.clear()
        return rest

    @property
    def pending(self) -> int:
        return len(self._buf)


class Action(Enum):
    FORWARD = "forward"
    DROP = "drop"
    HOLD = "hold"  # reorder: send after the next frame
    RESET = "reset"  # send ``reset_at`` bytes, then RST both connections


@dataclass(frozen=True, slots=True)
class Plan:
    """One frame's fate."""

    action: Action
    copies: int = 1
    delay: float = 0.0  # seconds before the frame goes on
    reset_at: int = 0


#: random draws per frame, always all of them (see :func:`decide`)
DRAWS = 6


def decide(faults: Faults, rng: random.Random, frame_len: int) -> Plan:
    """Decide a frame's fate; first matching wins: drop, reset, reorder, then duplicate.

    Every frame takes the same number of draws, in the same order, whatever faults are on,
    so a seed gives the same drop decisions with or without, say, a delay switched on.
    """
    r_drop, r_reset, r_reorder, r_dup, r_jitter, r_cut = (rng.random() for _ in range(DRAWS))
    delay = (faults.delay_ms + faults.jitter_ms * r_jitter) / 1000.0
    if r_drop < faults.drop:
        return Plan(Action.DROP)
    if r_reset < faults.reset:
        # past the LEN prefix and short of the end, so the peer is left holding a declared,
        # unfinished frame: the "reset mid-frame" case, not a reset between frames
        first = LEN_PREFIX + 1
        at = min(first + int(r_cut * (frame_len - first)), frame_len - 1)
        return Plan(Action.RESET, delay=delay, reset_at=max(at, 1))
    if r_reorder < faults.reorder:
        return Plan(Action.HOLD, delay=delay)
    return Plan(Action.FORWARD, copies=2 if r_dup < faults.duplicate else 1, delay=delay)


def cut_allowance(faults: Faults, already_sent: int, size: int) -> int | None:
    """How many of ``size`` bytes may still go under ``cut_after``; None: no cut is due.

    A number (possibly ``size`` itself) means: send that many, then close, because the
    budget is spent. ``already_sent`` counts the connection's bytes in the faulted ways.
    """
    if faults.cut_after is None:
        return None
    left = max(faults.cut_after - already_sent, 0)
    return left if left <= size else None

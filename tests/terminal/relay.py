"""A relay between a terminal and the host that sees every frame and may spoil a MAC.

It records what went each way (MTI, STAN, 60.3, response code, whether field 64 was there) and
flips the last byte of field 64 — the MAC is the frame's last 8 bytes — of the frames a rule
picks: a request on its way up (the host must refuse it with ``A0``) or a reply on its way
down (the terminal must not trust it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from possettle.iso8583 import codec
from possettle.iso8583.codec import Fields
from possettle.iso8583.errors import CodecError
from possettle.iso8583.framing import FrameReader


@dataclass(frozen=True)
class Seen:
    up: bool
    mti: str
    stan: str
    code: str  # 39 (a reply's response code); "" in requests
    net: str  # 60.3
    maced: bool
    spoiled: bool


#: which frames to spoil: (going up?, the frame's decoded fields) -> spoil it?
Rule = Callable[[bool, Fields], bool]


@dataclass
class Relay:
    port: int = 0
    seen: list[Seen] = field(default_factory=list)

    def trail(self, *, up: bool | None = None) -> list[tuple[str, str]]:
        """(MTI, code) of every frame, optionally only one direction."""
        return [(s.mti, s.code) for s in self.seen if up is None or s.up is up]


@contextlib.asynccontextmanager
async def mac_relay(target_port: int, spoil: Rule | None = None) -> AsyncIterator[Relay]:
    relay = Relay()

    def carry(data: bytes, up: bool) -> bytes:
        raw = bytearray(data)
        try:
            fields = codec.decode(bytes(raw[13:]))
        except CodecError:
            return bytes(raw)
        bad = spoil is not None and "64" in fields and spoil(up, fields)
        if bad:
            raw[-1] ^= 0x01
        f60 = fields.get("60", "")
        code = "" if up else fields.get("39", "")
        seen = Seen(up, fields["t"], fields.get("11", ""), code, f60[8:11], "64" in fields, bad)
        relay.seen.append(seen)
        return bytes(raw)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", target_port)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            frames = FrameReader()
            while data := await src.read(4096):
                for frame in frames.feed(data):
                    dst.write(carry(frame.to_bytes(), up))
                await dst.drain()
            dst.close()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(pump(reader, up_w, True), pump(up_r, writer, False))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    relay.port = server.sockets[0].getsockname()[1]
    try:
        yield relay
    finally:
        server.close()
        await server.wait_closed()


def first(mti: str, *, up: bool, net: str | None = None, times: int = 1) -> Rule:
    """A rule spoiling the first ``times`` frames of ``mti`` going that way (60.3 ``net``)."""
    done: list[int] = []

    def rule(going_up: bool, fields: Fields) -> bool:
        if going_up is not up or fields["t"] != mti:
            return False
        if net is not None and fields.get("60", "")[8:11] != net:
            return False
        if len(done) >= times:
            return False
        done.append(1)
        return True

    return rule

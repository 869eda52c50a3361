"""An approval whose MAC does not verify is reversed with reason A0 (protocol §5)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from possettle.iso8583.framing import FrameReader
from possettle.terminal.journal.records import TxnState
from tests.host.harness import register, running_host
from tests.terminal.faults import host_view
from tests.terminal.harness import CUP_PAN, make_terminal, open_pos


@contextlib.asynccontextmanager
async def mac_breaker(target_port: int, breaks: list[int]) -> AsyncIterator[int]:
    """A relay that flips the last MAC byte of the first 0210 it carries back."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", target_port)

        async def pump_up() -> None:
            while data := await reader.read(4096):
                up_w.write(data)
                await up_w.drain()
            up_w.close()

        async def pump_down() -> None:
            frames = FrameReader()
            while data := await up_r.read(4096):
                for frame in frames.feed(data):
                    raw = bytearray(frame.to_bytes())
                    if frame.body[:2] == bytes.fromhex("0210") and not breaks:
                        raw[-1] ^= 0x01  # the MAC's last byte: 8 ASCII hex characters
                        breaks.append(1)
                    writer.write(bytes(raw))
                await writer.drain()
            writer.close()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(pump_up(), pump_down())

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_an_approval_with_a_bad_mac_is_reversed_and_never_counted(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    breaks: list[int] = []
    async with running_host(sqlite_url, key_file) as host, mac_breaker(host.port, breaks) as port:
        pos = open_pos(make_terminal(tmp_path / "t", port))
        try:
            await pos.sign_on()
            first = await pos.sale(CUP_PAN, 2500, expiry="3012")
            assert breaks == [1]
            assert first.state is TxnState.PENDING and first.code == "A0"
            status = pos.status()
            assert [r["reason"] for r in status["pending_reversals"]] == ["A0"]  # type: ignore[index]
            assert status["signed_on"] is False  # a MAC it cannot check: sign on again
            second = await pos.sale(CUP_PAN, 700, expiry="3012")  # reversal first, then this
            assert second.approved
            assert pos.status()["pending_reversals"] == []
            report = await pos.settle()
            assert report.ok and report.result == "balanced"
        finally:
            await pos.close()
    view = host_view(sqlite_url, [tmp_path / "t"])
    assert view.lost == [] and view.duplicated == []

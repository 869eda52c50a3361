"""Malformed frames, slow clients and floods: the host answers 30 or closes that one
connection, and keeps serving every other one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from possettle.iso8583 import codec
from possettle.iso8583.framing import Frame, FrameReader, Header, Tpdu
from possettle.link import requests as m
from tests.host.harness import MID, TID, RunningHost, register, running_host
from tests.vectors.load import by_name

ECHO = bytes.fromhex(by_name()["echo_request"]["frame_hex"])


async def raw_exchange(port: int, data: bytes, *, pieces: int = 1) -> bytes:
    """Send ``data`` (in ``pieces`` writes) and return what comes back before close/timeout."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        writer.write(data[i : i + step])
        await writer.drain()
        await asyncio.sleep(0)
    try:
        got = await asyncio.wait_for(reader.read(8192), 2.0)
    except TimeoutError:
        got = b"timeout"
    writer.close()
    return got


async def still_serving(host: RunningHost) -> None:
    reply = await raw_exchange(host.port, ECHO)
    frame = FrameReader().feed(reply)[0]
    assert codec.decode(frame.body)["39"] == "00"


def frame_of(body: bytes) -> bytes:
    return Frame(Tpdu(), Header(), body).to_bytes()


async def test_a_frame_split_into_single_byte_writes_is_answered(host: RunningHost) -> None:
    reply = await raw_exchange(host.port, ECHO, pieces=len(ECHO))
    assert codec.decode(FrameReader().feed(reply)[0].body)["39"] == "00"


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b[:10] + b"\xab" + b[11:], id="bad-bcd-stan"),
        pytest.param(lambda b: b[:2] + bytes([b[2] | 0x08]) + b[3:], id="undefined-bitmap-bit"),
        pytest.param(lambda b: b[:-4], id="truncated-field"),
    ],
)
async def test_malformed_fields_are_answered_30_and_the_connection_goes_on(
    host: RunningHost, mutate: object
) -> None:
    body = ECHO[13:]
    bad = mutate(body)  # type: ignore[operator]
    reader, writer = await asyncio.open_connection("127.0.0.1", host.port)
    writer.write(frame_of(bad) + ECHO)
    await writer.drain()
    frames: list[Frame] = []
    fr = FrameReader()
    while len(frames) < 2:
        frames += fr.feed(await asyncio.wait_for(reader.read(8192), 2.0))
    writer.close()
    first, second = (codec.decode(f.body) for f in frames)
    assert (first["t"], first["39"]) == ("0830", "30")
    assert second["39"] == "00"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x00\x00", id="zero-length"),
        pytest.param(b"\x13\x88" + b"\x00" * 64, id="oversized-5000"),
        pytest.param(b"\x00\x05" + b"\x60\x00\x03\x00\x00", id="shorter-than-header"),
        pytest.param(frame_of(b"\xff\xff" + bytes(8)), id="non-bcd-mti"),
    ],
)
async def test_framing_errors_close_only_that_connection(host: RunningHost, data: bytes) -> None:
    assert await raw_exchange(host.port, data) in (b"", b"timeout")
    await still_serving(host)


async def test_a_frame_cut_off_mid_way_does_not_disturb_others(host: RunningHost) -> None:
    _reader, writer = await asyncio.open_connection("127.0.0.1", host.port)
    writer.write(ECHO[:20])
    await writer.drain()
    writer.close()
    await still_serving(host)


async def test_slow_and_silent_clients_are_cut_and_the_cap_holds(
    sqlite_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "k"
    await register(sqlite_url, key_file)
    async with running_host(
        sqlite_url, key_file, frame_timeout=0.3, idle_timeout=0.5, max_connections=2
    ) as host:
        # a slow client: half a frame, then nothing
        slow_r, slow_w = await asyncio.open_connection("127.0.0.1", host.port)
        slow_w.write(ECHO[:10])
        await slow_w.drain()
        silent_r, silent_w = await asyncio.open_connection("127.0.0.1", host.port)
        await asyncio.sleep(0.05)
        # the cap: a third connection is closed at once
        third_r, third_w = await asyncio.open_connection("127.0.0.1", host.port)
        assert await asyncio.wait_for(third_r.read(100), 2.0) == b""
        third_w.close()
        assert await asyncio.wait_for(slow_r.read(100), 2.0) == b""  # frame timeout
        assert await asyncio.wait_for(silent_r.read(100), 2.0) == b""  # idle timeout
        slow_w.close()
        silent_w.close()
        await asyncio.sleep(0.05)
        await still_serving(host)


async def test_a_sale_from_an_unsigned_terminal_is_refused_22(host: RunningHost) -> None:
    link = host.link()
    ex = await link.send(m.sale(TID, MID, 1, 1, pan="6222021234567890128", amount=100))
    assert ex.code == "22"
    assert ex.header.requirement == 3
    await link.close()

"""What a running host writes about bad input — its log and its ledger — holds no card number
and no raw control byte, whatever the frame."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from possettle.iso8583 import codec
from possettle.iso8583.framing import Frame, FrameReader, Header, Tpdu
from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import metadata
from possettle.logs import configure_logging
from tests.cardscan import luhn_numbers
from tests.host.harness import MID, register, running_host
from tests.host.test_bad_input import raw_exchange, still_serving
from tests.iso8583.test_mask import LEAKY_FRAMES
from tests.vectors.load import load

PAN = load()["keys"]["pan"]


@pytest.fixture
def host_log(capsys: pytest.CaptureFixture[str]) -> Callable[[], str]:
    """The host's console log (stderr), as an operator's terminal would receive it."""
    configure_logging()
    return lambda: capsys.readouterr().err


def ledger_text(url: str) -> str:
    """Every row of every ledger table, as text."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return "\n".join(
                repr(tuple(row)) for table in metadata.sorted_tables
                for row in conn.execute(sa.select(table))
            )  # fmt: skip
    finally:
        engine.dispose()


def frame_of(body: bytes) -> bytes:
    return Frame(Tpdu(), Header(), body).to_bytes()


async def test_frames_that_leaked_card_numbers_leave_none_in_the_log_or_the_ledger(
    db_url: str, tmp_path: Path, host_log: Callable[[], str]
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with running_host(db_url, key_file) as host:
        for make in LEAKY_FRAMES.values():
            await raw_exchange(host.port, frame_of(make()))
        await still_serving(host)
    log = host_log()
    assert log.count("format error") == len(LEAKY_FRAMES)  # the host did write about them
    ledger = ledger_text(db_url)
    for where, text in (("log", log), ("ledger", ledger)):
        assert PAN not in text, where
        assert luhn_numbers(text) == [], where


async def test_a_tid_with_control_bytes_reaches_the_log_escaped(
    sqlite_url: str, tmp_path: Path, host_log: Callable[[], str]
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    tid = "12\x1b[2J56"  # ESC [2J clears the operator's screen
    body = codec.encode({"t": "0820", "11": "000007", "41": tid, "42": MID, "60": "00000001301"})
    async with running_host(sqlite_url, key_file) as host:
        reply = await raw_exchange(host.port, frame_of(body))
        assert reply not in (b"", b"timeout")  # refused (unknown terminal), answered
    log = host_log()
    line = next(ln for ln in log.splitlines() if "unknown or disabled terminal" in ln)
    assert "12\\x1b[2J56" in line
    assert "\x1b[2J" not in log


async def test_a_flood_of_unknown_terminals_costs_a_few_log_lines_not_one_each(
    sqlite_url: str, tmp_path: Path, host_log: Callable[[], str]
) -> None:
    """A 97 comes before any key is checked, so anyone can provoke it: the host logs the
    first few of a second and says how many it held back, rather than a line a frame."""
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    frames = [
        frame_of(
            codec.encode(
                {"t": "0820", "11": f"{n:06d}", "41": f"9{n:07d}", "42": MID, "60": "00000001301"}
            )
        )
        for n in range(400)
    ]
    async with running_host(sqlite_url, key_file) as host:
        reader, writer = await asyncio.open_connection("127.0.0.1", host.port)
        framer = FrameReader()
        answers: list[str] = []
        for data in frames:  # one connection, one frame at a time, each answered
            writer.write(data)
            await writer.drain()
            while not (got := framer.feed(await reader.read(4096))):
                pass
            answers += [codec.decode(f.body)["39"] for f in got]
        writer.close()
        await still_serving(host)
    assert answers == ["97"] * len(frames)
    lines = [ln for ln in host_log().splitlines() if "unknown or disabled terminal" in ln]
    assert 1 <= len(lines) < 100, len(lines)

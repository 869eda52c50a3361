"""The page-by-page reader of a damaged journal (terminal/rescue/pages.py, rows.py)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from possettle.crypto.vault import Vault
from possettle.terminal.config import JOURNAL_FILE, KEY_FILE
from possettle.terminal.rescue.pages import PageError, record, varint
from possettle.terminal.rescue.rows import rescue
from tests.host.harness import register, running_host
from tests.terminal.harness import CUP_PAN, VISA_PAN, make_terminal, open_pos


@pytest.mark.parametrize(
    ("raw", "value", "end"),
    [
        (b"\x00", 0, 1),
        (b"\x7f", 127, 1),
        (b"\x81\x00", 128, 2),
        (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff", 2**64 - 1, 9),
    ],
)
def test_varint_reads_sqlite_big_endian_varints(raw: bytes, value: int, end: int) -> None:
    assert varint(raw, 0) == (value, end)


@pytest.mark.parametrize(
    ("payload", "values"),
    [
        (bytes([4, 0, 1, 0x13]) + b"\x05abc", [None, 5, "abc"]),
        (bytes([3, 8, 9]), [0, 1]),
        (bytes([2, 0x10]) + b"\xde\xad", [b"\xde\xad"]),
    ],
)
def test_record_reads_the_serial_types_the_journal_uses(payload: bytes, values: list[Any]) -> None:
    assert record(payload) == values


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (bytes([9, 1]), "record header size is out of range"),
        (bytes([2, 0x13]) + b"ab", "text or blob runs past the record"),
        (bytes([2, 10]), "serial type 10 is reserved"),
        (bytes([2, 1]) + b"\x05\x06", "record is longer than its values"),
        (bytes([2, 0x0F]) + b"\xff", "text is not UTF-8"),
    ],
)
def test_record_refuses_what_does_not_read_as_the_format_says(payload: bytes, why: str) -> None:
    with pytest.raises(PageError, match=why):
        record(payload)


def rows(journal: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(journal)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM txns ORDER BY id")]
    finally:
        db.close()


async def test_the_reader_takes_the_committed_frames_of_the_write_ahead_log(
    tmp_path: Path, sqlite_url: str
) -> None:
    """A power cut leaves the latest commits in journal.db-wal only: they are read."""
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            for i in range(30):
                assert (await pos.sale((CUP_PAN, VISA_PAN)[i % 2], 100 + i, expiry="3012")).approved
            # the terminal is still running: copy its files as a power cut leaves them
            cut = tmp_path / "cut"
            cut.mkdir()
            for name in (JOURNAL_FILE, f"{JOURNAL_FILE}-wal", KEY_FILE):
                shutil.copy(term / name, cut / name)
        finally:
            await pos.close()
    assert (cut / f"{JOURNAL_FILE}-wal").stat().st_size > 0
    found = rescue(cut / JOURNAL_FILE, Vault.load_or_create(cut / KEY_FILE))
    assert found.wal_frames > 0
    assert found.damaged == {} and found.conflicts == {} and found.bad_pages == 0
    expected = rows(cut / JOURNAL_FILE)  # SQLite's own reading, log included
    assert found.table("txns") == expected
    assert [t["state"] for t in expected] == ["approved"] * 30


async def test_a_row_whose_sealed_card_does_not_match_is_counted_damaged(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            a = await pos.sale(CUP_PAN, 100, expiry="3012")
            await pos.sale(VISA_PAN, 200, expiry="3012")
        finally:
            await pos.close()
    db = sqlite3.connect(term / JOURNAL_FILE)
    with db:  # a bit flipped inside a masked card number: the sealed one no longer matches
        db.execute("UPDATE txns SET pan_masked = '622202*********0129' WHERE stan = ?", (a.stan,))
    db.close()
    found = rescue(term / JOURNAL_FILE, Vault.load_or_create(term / KEY_FILE))
    assert found.damaged == {"txns": 1}
    assert [t["stan"] for t in found.table("txns")] == [a.stan + 1]

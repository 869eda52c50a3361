"""Database: engine + writer + vault + clock, opened with one call."""

from __future__ import annotations

from pathlib import Path

import pytest

from possettle.clock import FixedClock
from possettle.host.registry import add_merchant, list_terminals
from possettle.ledger.database import Database
from possettle.ledger.errors import LedgerClosed
from possettle.ledger.migrate import current_revision
from possettle.ledger.queries import get_policy, next_counter

from .conftest import MID


async def test_open_migrates_writes_and_reads(
    db_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    key_file = tmp_path / "host.key"
    async with Database.open(db_url, key_file=key_file, clock=clock) as db:
        assert db.clock is clock
        await db.write(lambda c: add_merchant(c, MID, "Shop", at=db.clock.now()))
        assert await db.write(lambda c: next_counter(c, "rrn")) == 1
        assert await db.read(list_terminals) == []
        assert await db.read(lambda c: get_policy(c, "min_version", "000000")) == "000000"
        assert db.writer.stats.ops == 2
    assert key_file.exists()
    assert current_revision(db_url) == "0007"
    with pytest.raises(LedgerClosed, match="write refused"):
        await db.write(lambda c: next_counter(c, "rrn"))
    with pytest.raises(LedgerClosed, match="read refused"):
        await db.read(list_terminals)


async def test_the_vault_key_is_kept_beside_a_sqlite_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSSETTLE_HOST_KEY_FILE", raising=False)
    monkeypatch.delenv("POSSETTLE_HOST_KEY", raising=False)
    path = tmp_path / "ledger.db"
    db = Database.open(str(path))
    await db.start()
    try:
        sealed = db.vault.seal(b"x", b"aad")
    finally:
        await db.close()
    assert (tmp_path / "ledger.db.key").exists()
    again = Database.open(str(path))
    await again.start()
    try:
        assert again.vault.open(sealed, b"aad") == b"x"
    finally:
        await again.close()


async def test_the_url_never_shows_the_password(tmp_path: Path) -> None:
    db = Database.open("postgresql://host:s3cret@127.0.0.1/ledger", key_file=tmp_path / "k")
    assert db.url == "postgresql+psycopg://host:***@127.0.0.1/ledger"
    await db.close()

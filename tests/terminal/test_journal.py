"""The journal on its own: schema upgrades, size limit, corruption, the unclean-shutdown mark."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from possettle.clock import FixedClock
from possettle.crypto.vault import Vault
from possettle.terminal.errors import JournalCorrupt, JournalError, StorageFull
from possettle.terminal.journal.events import EventKind, FaultInjected
from possettle.terminal.journal.schema import SCHEMA_V1, VERSION
from possettle.terminal.journal.store import Journal
from tests.terminal.harness import DAYTIME


def _open(path: Path, **kw: object) -> Journal:
    vault = Vault.load_or_create(path.parent / "k")
    return Journal.open(path, clock=FixedClock(DAYTIME), vault=vault, **kw)  # type: ignore[arg-type]


def test_a_version_1_journal_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    conn.execute("INSERT INTO meta (key, value) VALUES ('batch', '7')")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    journal = _open(path)
    try:
        assert journal.get_meta("batch") == "7"
        names = {r[0] for r in journal.conn.execute("SELECT name FROM sqlite_master")}
        assert "txns_to_upload" in names
        assert journal.conn.execute("PRAGMA user_version").fetchone()[0] == VERSION
    finally:
        journal.close()


def test_a_journal_from_newer_software_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="update the terminal software"):
        _open(path)


def test_a_full_journal_fails_cleanly_and_keeps_what_was_committed(tmp_path: Path) -> None:
    journal = _open(tmp_path / "journal.db", max_bytes=64 * 1024)
    try:
        written = 0
        with pytest.raises(StorageFull, match="full"):
            for i in range(10_000):
                filler = {"fault": "filler", "i": i, "pad": "x" * 400}
                journal.event(FaultInjected.model_validate(filler))
                written += 1
        assert written > 0
        count = journal.conn.execute("SELECT count(*) FROM events WHERE kind='fault_injected'")
        assert count.fetchone()[0] == written  # the failed write left nothing half-done
    finally:
        journal.close()


def test_a_corrupt_journal_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    path.write_bytes(b"this is not a database, it is what a failing flash chip returns" * 100)
    with pytest.raises(JournalCorrupt):
        _open(path)


def test_a_process_that_died_leaves_a_mark_the_next_open_journals(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    first = _open(path)
    first.conn.close()  # no clean close: the open marker stays set, as after a power cut
    second = _open(path)
    try:
        assert second.unclean
        assert second.events(EventKind.UNCLEAN_SHUTDOWN)
    finally:
        second.close()
    third = _open(path)
    try:
        assert not third.unclean
    finally:
        third.close()

"""Fixtures for the terminal's local rules: a journal-like SQLite file and a frozen clock."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from possettle.clock import FixedClock
from possettle.terminal.operators import OPERATOR_SCHEMA, OperatorStore, Role

#: 2026-11-26 10:00 in Beijing
START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection set up as the journal sets up its own (autocommit, WAL, FULL)."""
    db = sqlite3.connect(tmp_path / "journal.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(OPERATOR_SCHEMA)
    yield db
    db.close()


@pytest.fixture
def store(conn: sqlite3.Connection, clock: FixedClock) -> OperatorStore:
    """A store with supervisor ``00`` (password ``9876``) and cashier ``01`` (``1357``)."""
    s = OperatorStore(conn, clock)
    s.add("00", "Wang Fang", Role.SUPERVISOR, "9876")
    s.add("01", "Li Lei", Role.CASHIER, "1357")
    return s

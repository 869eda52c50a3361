"""Ledger URLs, key file locations and the SQLite durability settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from possettle.errors import ConfigError
from possettle.ledger.engine import (
    READ_ONLY,
    create_engine_for,
    key_file_for,
    normalize_url,
    sqlite_path,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/var/lib/possettle/ledger.db", "sqlite:////var/lib/possettle/ledger.db"),
        ("sqlite:////var/lib/possettle/ledger.db", "sqlite:////var/lib/possettle/ledger.db"),
        ("postgresql://host@db:5432/ledger", "postgresql+psycopg://host@db:5432/ledger"),
        ("postgres://host@db/ledger", "postgresql+psycopg://host@db/ledger"),
        ("postgresql+psycopg://u:pw@db/ledger", "postgresql+psycopg://u:pw@db/ledger"),
    ],
)
def test_normalize_url_accepts_paths_sqlite_and_postgresql(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_a_relative_path_becomes_an_absolute_sqlite_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert normalize_url("ledger.db") == f"sqlite:///{tmp_path / 'ledger.db'}"
    assert normalize_url("sqlite:///ledger.db") == f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "ledger URL is empty: give a file path, sqlite:///path or postgresql://…"),
        (
            "mysql://u@h/db",
            "ledger URL 'mysql://u@h/db' has unsupported scheme 'mysql': "
            "use a file path, sqlite:///path or postgresql://user@host/db",
        ),
        (
            "sqlite://",
            "ledger URL 'sqlite://' is an in-memory database; the ledger must be a file",
        ),
        (
            "sqlite:///:memory:",
            "ledger URL 'sqlite:///:memory:' is an in-memory database; the ledger must be a file",
        ),
        (
            "sqlite:ledger.db",
            "ledger URL 'sqlite:ledger.db' is not of the form sqlite:///path/to/file.db",
        ),
    ],
)
def test_normalize_url_rejects_anything_else_clearly(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        normalize_url(url)
    assert str(info.value) == message


def test_key_file_sits_beside_a_sqlite_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSSETTLE_HOST_KEY_FILE", raising=False)
    assert key_file_for(str(tmp_path / "ledger.db")) == tmp_path / "ledger.db.key"


def test_key_file_for_a_server_ledger_is_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSSETTLE_HOST_KEY_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert key_file_for("postgresql://u@h/db") == tmp_path / "possettle-host.key"


def test_key_file_env_overrides_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSSETTLE_HOST_KEY_FILE", str(tmp_path / "k"))
    assert key_file_for("ledger.db") == tmp_path / "k"
    assert key_file_for("postgresql://u@h/db") == tmp_path / "k"


def test_sqlite_connections_are_wal_full_sync_with_foreign_keys(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    try:
        with engine.connect() as conn:
            pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 10_000
    finally:
        engine.dispose()


def test_sqlite_writes_take_the_write_lock_at_begin(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    path = sqlite_path(sqlite_url)
    assert path is not None
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA user_version")  # create the file
            conn.rollback()
            with conn.begin():  # BEGIN IMMEDIATE, before any write
                other = sqlite3.connect(path, timeout=0, isolation_level=None)
                try:
                    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                        other.execute("BEGIN IMMEDIATE")
                finally:
                    other.close()
    finally:
        engine.dispose()


def test_sqlite_read_only_connections_begin_deferred(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    path = sqlite_path(sqlite_url)
    assert path is not None
    try:
        with engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            conn.execute(sa.text("SELECT 1"))  # BEGIN (deferred): no write lock
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            finally:
                other.close()
    finally:
        engine.dispose()


def test_savepoints_nest_inside_the_sqlite_transaction(sqlite_url: str) -> None:
    engine = create_engine_for(sqlite_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as conn:
            with conn.begin():
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
                with conn.begin_nested():
                    conn.exec_driver_sql("INSERT INTO t VALUES (2)")
                inner = conn.begin_nested()
                conn.exec_driver_sql("INSERT INTO t VALUES (3)")
                inner.rollback()
                assert conn.exec_driver_sql("SELECT x FROM t ORDER BY x").scalars().all() == [1, 2]
                conn.rollback()
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.pg
def test_postgresql_sessions_commit_synchronously(pg_database: str) -> None:
    engine = create_engine_for(pg_database)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
    finally:
        engine.dispose()

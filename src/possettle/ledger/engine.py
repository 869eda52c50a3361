"""Database URLs, engines and the one boundary where SQLAlchemy errors become host errors.

The ledger runs on SQLite (one machine) or PostgreSQL (several host processes). Durability is
never traded for speed (design.md, "Durability"):

* SQLite: WAL, ``synchronous=FULL``, a busy timeout, foreign keys on, and SQLAlchemy's
  pysqlite recipe — the driver's own transaction handling is switched off and every
  transaction starts with ``BEGIN IMMEDIATE``, so a writer takes the write lock up front
  (no deadlock-prone lock upgrade) and SAVEPOINTs nest inside a real transaction. Read-only
  connections opt into a deferred ``BEGIN`` with the :data:`READ_ONLY` execution option.
* PostgreSQL (psycopg 3): ``synchronous_commit=on`` set explicitly per connection.

>>> normalize_url("ledger.db").startswith("sqlite:///")
True
>>> normalize_url("postgresql://u@h/db")
'postgresql+psycopg://u@h/db'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine, make_url

from possettle.errors import ConfigError
from possettle.ledger.errors import DatabaseError, IntegrityViolation

KEY_FILE_ENV = "POSSETTLE_HOST_KEY_FILE"
DEFAULT_KEY_FILE = "possettle-host.key"
BUSY_TIMEOUT_MS = 10_000
# Execution option a connection sets to begin with a deferred BEGIN (reads never take the
# SQLite write lock).
READ_ONLY = "possettle_read_only"

_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def normalize_url(url: str) -> str:
    """A SQLAlchemy URL for a ledger given as a file path, ``sqlite:///…`` or ``postgresql://…``.

    Plain paths and ``sqlite:///`` URLs become absolute ``sqlite:///`` URLs; PostgreSQL URLs
    get the psycopg 3 driver. Anything else is a :class:`ConfigError` that says what is
    accepted.
    """
    text = url.strip()
    if not text:
        raise ConfigError.said("ledger.url_empty")
    for scheme in _PG_SCHEMES:
        if text.startswith(scheme):
            return "postgresql+psycopg://" + text[len(scheme) :]
    if text.startswith("sqlite:"):
        if text in ("sqlite://", "sqlite:///:memory:") or ":memory:" in text:
            raise ConfigError.said("ledger.url_memory", url=repr(url))
        if not text.startswith("sqlite:///") or len(text) == len("sqlite:///"):
            raise ConfigError.said("ledger.url_sqlite", url=repr(url))
        return _sqlite_url(Path(text[len("sqlite:///") :]))
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise ConfigError.said("ledger.url_scheme", url=repr(url), scheme=repr(scheme))
    return _sqlite_url(Path(text))


def _sqlite_url(path: Path) -> str:
    return "sqlite:///" + str(path.expanduser().absolute())


def is_sqlite(url: str) -> bool:
    return normalize_url(url).startswith("sqlite:")


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite ledger URL, ``None`` for other backends."""
    norm = normalize_url(url)
    if not norm.startswith("sqlite:///"):
        return None
    return Path(norm[len("sqlite:///") :])


def key_file_for(url: str) -> Path:
    """Where the host's vault key lives by default.

    ``$POSSETTLE_HOST_KEY_FILE`` wins; otherwise ``<dbfile>.key`` beside a SQLite ledger, or
    ``./possettle-host.key`` for a server database.
    """
    override = os.environ.get(KEY_FILE_ENV)
    if override:
        return Path(override).expanduser()
    path = sqlite_path(url)
    if path is not None:
        return path.with_name(path.name + ".key")
    return Path(DEFAULT_KEY_FILE).absolute()


def create_engine_for(url: str) -> Engine:
    """An engine for the ledger at ``url`` with the durability settings described above."""
    norm = normalize_url(url)
    if norm.startswith("sqlite:"):
        return _sqlite_engine(norm)
    return sa.create_engine(
        norm,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"options": "-c synchronous_commit=on"},
    )


def _sqlite_engine(url: str) -> Engine:
    # The writer and the event loop's lookups hold one connection each for good; readers run
    # in worker threads (at most 32 in asyncio's default executor). The pool keeps that many
    # open: an overflow connection is closed on return, and the next one pays the connect and
    # the PRAGMAs below again, on a request's path.
    engine = sa.create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
        pool_size=36,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module (SQLAlchemy's recipe): it
        # would otherwise skip BEGIN before SAVEPOINT and DDL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def translate(error: exc.SQLAlchemyError, doing: str) -> DatabaseError:
    """The host error for a SQLAlchemy / driver error raised while ``doing`` something.

    The one translation boundary: callers ``raise translate(e, "…") from e``. The message
    carries the driver's own first line (never statement parameters, which may hold card
    data) so the doctor can tell a locked file from a lost server.
    """
    orig = getattr(error, "orig", None)
    detail = str(orig) if orig is not None else type(error).__name__
    detail = detail.strip().splitlines()[0] if detail.strip() else type(error).__name__
    if isinstance(error, exc.IntegrityError):
        return IntegrityViolation(f"{doing}: constraint violated: {detail}")
    return DatabaseError(f"{doing}: {type(error).__name__}: {detail}")


def redacted(url: str) -> str:
    """``url`` with any password hidden, for messages and logs."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)

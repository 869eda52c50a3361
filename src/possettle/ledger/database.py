"""The host's handle on its ledger: engine, group-commit writer, vault and clock in one place.

>>> async with Database.open("ledger.db") as db:                   # doctest: +SKIP
...     await db.write(lambda conn: add_merchant(conn, mid, "Shop"))
...     rows = await db.read(list_terminals)

Writes go through the one :class:`LedgerWriter`; reads run on pooled connections in worker
threads (on SQLite with a deferred ``BEGIN``, so they never wait for the write lock).
:meth:`Database.lookup` is for the few indexed reads on a request's hot path: on SQLite it
runs them on the caller's thread (a WAL read of a few rows costs a fraction of the hop to
a worker thread and back, and never waits for the writer); on PostgreSQL it is :meth:`read`.
``open`` creates or upgrades the schema on start unless ``migrate=False``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from possettle.clock import Clock, SystemClock
from possettle.crypto.vault import Vault
from possettle.ledger.engine import READ_ONLY, create_engine_for, key_file_for, translate
from possettle.ledger.errors import LedgerClosed
from possettle.ledger.migrate import upgrade_engine
from possettle.ledger.writer import LedgerWriter, Op

T = TypeVar("T")
#: how long a lookup on the event loop's thread may wait for a SQLite lock
LOOKUP_BUSY_MS = 50


class Database:
    """Engine + writer + vault + clock; use ``async with Database.open(url)`` or start/close."""

    def __init__(
        self,
        engine: Engine,
        vault: Vault,
        *,
        clock: Clock | None = None,
        max_group: int = 512,
        migrate: bool = True,
    ) -> None:
        self.engine = engine
        self.vault = vault
        self.clock: Clock = clock or SystemClock()
        self.writer = LedgerWriter(engine, max_group=max_group)
        self._migrate = migrate
        self._inline = engine.dialect.name == "sqlite"
        self._lookup_conn: Connection | None = None
        self._started = False
        self._closed = False

    @classmethod
    def open(
        cls,
        url: str,
        *,
        key_file: Path | None = None,
        clock: Clock | None = None,
        max_group: int = 512,
        migrate: bool = True,
    ) -> Database:
        """A database for the ledger at ``url`` (not started yet).

        The vault key comes from ``$POSSETTLE_HOST_KEY`` if set, else ``key_file`` (default
        :func:`~possettle.ledger.engine.key_file_for`), created on first use.
        """
        vault = Vault.from_env_or_file(key_file or key_file_for(url))
        engine = create_engine_for(url)
        return cls(engine, vault, clock=clock, max_group=max_group, migrate=migrate)

    @property
    def url(self) -> str:
        """The ledger URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    async def start(self) -> None:
        """Create or upgrade the schema (unless ``migrate=False``) and start the writer."""
        if self._started:
            raise LedgerClosed("database already started")
        if self._migrate:
            await asyncio.to_thread(upgrade_engine, self.engine)
        await self.writer.start()
        self._started = True

    async def close(self) -> None:
        """Let queued writes commit, stop the writer and close every pooled connection."""
        if self._closed:
            return
        self._closed = True
        if self._lookup_conn is not None:
            _drop(self._lookup_conn)
            self._lookup_conn = None
        await self.writer.aclose()
        await asyncio.to_thread(self.engine.dispose)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def write(self, op: Op[T]) -> T:
        """Run ``op`` in the writer's next group; returns once that group is committed."""
        return await self.writer.run(op)

    async def read(self, op: Op[T]) -> T:
        """Run a read-only ``op`` on a pooled connection in a worker thread."""
        if self._closed:
            raise LedgerClosed("database is closed: read refused")
        return await asyncio.to_thread(self._read_sync, op)

    async def lookup(self, op: Op[T]) -> T:
        """A short indexed read on the request path (see the module doc); read-only ``op``.

        On SQLite the loop's own connection waits at most :data:`LOOKUP_BUSY_MS` for a lock
        (a WAL reader rarely meets one); past that the read goes to a worker thread.
        """
        if not self._inline:
            return await self.read(op)
        if self._closed:
            raise LedgerClosed("database is closed: read refused")
        # Connecting runs the engine's PRAGMAs under its long busy timeout: not on the loop.
        if self._lookup_conn is None and not self._adopt(
            await asyncio.to_thread(self._open_lookup_conn)
        ):
            return await self.read(op)
        try:
            return self._lookup_sync(op)
        except exc.OperationalError:
            if self._lookup_conn is not None:
                _drop(self._lookup_conn)
                self._lookup_conn = None
            return await self.read(op)
        except exc.SQLAlchemyError as e:
            raise translate(e, "ledger read") from e

    def _open_lookup_conn(self) -> Connection:
        try:
            conn = self.engine.connect()
            conn.execution_options(**{READ_ONLY: True})
            conn.exec_driver_sql(f"PRAGMA busy_timeout={LOOKUP_BUSY_MS}")
            conn.rollback()
        except exc.SQLAlchemyError as e:
            raise translate(e, "ledger read") from e
        return conn

    def _adopt(self, conn: Connection) -> bool:
        """Keep ``conn`` as the lookup connection unless another lookup or close came first."""
        if self._lookup_conn is not None or self._closed:
            _drop(conn)
            return False
        self._lookup_conn = conn
        return True

    def _lookup_sync(self, op: Op[T]) -> T:
        conn = self._lookup_conn
        assert conn is not None
        try:
            return op(conn)
        finally:
            conn.rollback()  # end the read transaction: the next lookup sees new commits

    def _read_sync(self, op: Op[T]) -> T:
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{READ_ONLY: True})
                return op(conn)
        except exc.SQLAlchemyError as e:
            raise translate(e, "ledger read") from e


def _drop(conn: Connection) -> None:
    """Discard a lookup connection: invalidated, so its short busy timeout never reaches the
    pool's other users."""
    conn.invalidate()
    conn.close()

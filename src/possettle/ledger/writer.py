"""The group-commit ledger writer: many requests' writes, one transaction, one fsync.

One dedicated thread owns one connection. Whatever writes are queued when it wakes (up to
``max_group``) go into ONE transaction, each under its own SAVEPOINT so an op that raises
rolls back only itself and gets its own exception; then ONE commit. Only after that commit
succeeded are the ops' awaiters woken, so the host never acknowledges what it has not
committed (design.md, "Durability"). If the commit fails, every op of the group gets a
:class:`~possettle.ledger.errors.DatabaseError`.

An op is a plain synchronous function of a :class:`~sqlalchemy.engine.Connection`; it must
not commit or roll back itself (use ``conn.begin_nested()`` for an inner savepoint)::

    rrn = await writer.run(lambda conn: next_counter(conn, "rrn"))

A caller cancelled while waiting does not cancel its op: it may still be committed.

Hand-over costs are kept per loop iteration, not per op: the writes submitted while the event
loop runs one batch of ready callbacks reach the thread as one queue item (one wake-up, one
group; a group never exceeds ``max_group``, the rest waits for the next), and a group's
results come back in one ``call_soon_threadsafe`` per loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from possettle.ledger.engine import translate
from possettle.ledger.errors import DatabaseError, LedgerClosed

T = TypeVar("T")
Op = Callable[[Connection], T]


@dataclass(frozen=True)
class WriterStats:
    """Counters since start: committed groups and the ops in them, and failed groups."""

    groups: int = 0
    ops: int = 0
    failed_groups: int = 0
    largest_group: int = 0

    @property
    def average_group(self) -> float:
        """Average ops per committed group (the group-commit gain)."""
        return self.ops / self.groups if self.groups else 0.0


@dataclass(frozen=True)
class _Pending(Generic[T]):
    op: Op[T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSING = "closing"
    CLOSED = "closed"


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    # Runs on the event loop; a waiter cancelled meanwhile is simply skipped.
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _post(pending: _Pending[Any], ok: bool, value: Any) -> None:
    # A closed loop (RuntimeError) means nobody is waiting any more.
    with contextlib.suppress(RuntimeError):
        pending.loop.call_soon_threadsafe(_settle, pending.future, ok, value)


def _settle_all(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        _settle(future, ok, value)


def _post_all(group: list[_Pending[Any]], outcomes: list[tuple[bool, Any]]) -> None:
    """Wake every waiter of a group with one call per event loop (one wake-up, not one each)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for pending, (ok, value) in zip(group, outcomes, strict=True):
        by_loop.setdefault(pending.loop, []).append((pending.future, ok, value))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle_all, settled)


class LedgerWriter:
    """Serialises ledger writes through one connection with group commit (see module doc)."""

    def __init__(self, engine: Engine, *, max_group: int = 512) -> None:
        if max_group < 1:
            raise ValueError(f"max_group must be at least 1, got {max_group}")
        self._engine = engine
        self._max_group = max_group
        # Each item is the writes of one event-loop iteration; None asks the thread to stop.
        self._queue: queue.SimpleQueue[list[_Pending[Any]] | None] = queue.SimpleQueue()
        # Owned by the thread: writes taken from the queue beyond one group's max_group.
        self._carry: list[_Pending[Any]] = []
        # Writes handed to the thread, and taken into a group (each written by one thread).
        self._handed = 0
        self._taken = 0
        self._state = _State.NEW
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._stats = WriterStats()
        self._stats_lock = threading.Lock()
        # Writes submitted during one event-loop iteration, handed to the thread together.
        self._submitted: list[_Pending[Any]] = []

    @property
    def queued(self) -> int:
        """Writes handed to the thread that no group has taken yet."""
        return self._handed - self._taken

    @property
    def stats(self) -> WriterStats:
        with self._stats_lock:
            return self._stats

    async def start(self) -> None:
        """Start the writer thread (its connection opens with the first group)."""
        if self._state is not _State.NEW:
            raise LedgerClosed(f"ledger writer cannot start: it is {self._state.value}")
        loop = asyncio.get_running_loop()
        self._stopped = loop.create_future()
        self._thread = threading.Thread(
            target=self._main, args=(loop, self._stopped), name="ledger-writer", daemon=True
        )
        self._thread.start()
        self._state = _State.RUNNING

    async def run(self, op: Op[T]) -> T:
        """Run ``op`` in the next group; returns its result once the group is committed."""
        if self._state is not _State.RUNNING:
            raise LedgerClosed(f"ledger writer is {self._state.value}: write refused")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._submitted:
            loop.call_soon(self._hand_over)
        self._submitted.append(_Pending(op, future, loop))
        return await future

    def _hand_over(self) -> None:
        # Queued in one go, after the loop has run every request that was ready: the thread
        # wakes once for all of them (one group) instead of racing the loop for the GIL.
        submitted, self._submitted = self._submitted, []
        if submitted:
            self._handed += len(submitted)
            self._queue.put(submitted)

    async def aclose(self) -> None:
        """Refuse new writes, let every queued write commit, then stop the thread."""
        if self._state is _State.NEW:
            self._state = _State.CLOSED
            return
        if self._state is _State.RUNNING:
            self._state = _State.CLOSING
            self._hand_over()
            self._queue.put(None)
        if self._stopped is not None:
            await asyncio.shield(self._stopped)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
        self._state = _State.CLOSED

    # -- the writer thread -------------------------------------------------------------

    def _main(self, loop: asyncio.AbstractEventLoop, stopped: asyncio.Future[None]) -> None:
        conn: Connection | None = None
        try:
            stop = False
            while True:
                group, stop = self._gather(stop)
                if not group:
                    break
                conn = self._commit_group(conn, group)
        finally:
            if conn is not None:
                _discard(conn)
            self._fail_leftovers()
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, stopped, True, None)

    def _gather(self, stop: bool) -> tuple[list[_Pending[Any]], bool]:
        """The next group (empty: nothing left and asked to stop) and whether to stop after."""
        if not self._carry and not stop:
            item = self._queue.get()  # the thread sleeps here until there is work
            if item is None:
                stop = True
            else:
                self._carry = item
        while len(self._carry) < self._max_group and not stop:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stop = True
            else:
                self._carry.extend(item)
        group, self._carry = self._carry[: self._max_group], self._carry[self._max_group :]
        self._taken += len(group)
        return group, stop

    def _commit_group(
        self, conn: Connection | None, group: list[_Pending[Any]]
    ) -> Connection | None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            if conn is None:
                conn = self._engine.connect()
            with conn.begin():
                dbapi = conn.connection.dbapi_connection
                assert dbapi is not None
                cursor = dbapi.cursor()
                try:
                    for pending in group:
                        outcomes.append(_run_isolated(conn, cursor, pending.op))
                finally:
                    cursor.close()
        except Exception as e:
            # The transaction failed as a whole (BEGIN, a savepoint or the COMMIT): nothing of
            # the group is durable, so every op gets the error.
            self._record(len(group), committed=False)
            doing = f"committing a group of {len(group)} ledger writes"
            _post_all(group, [(False, _group_error(e, doing)) for _ in group])
            _discard(conn)
            return None
        except BaseException:
            stopped = LedgerClosed("ledger writer stopped by an internal error")
            _post_all(group, [(False, stopped) for _ in group])
            raise
        self._record(len(group), committed=True)
        _post_all(group, outcomes)
        return conn

    def _record(self, size: int, *, committed: bool) -> None:
        with self._stats_lock:
            s = self._stats
            if committed:
                self._stats = WriterStats(
                    s.groups + 1, s.ops + size, s.failed_groups, max(s.largest_group, size)
                )
            else:
                self._stats = WriterStats(s.groups, s.ops, s.failed_groups + 1, s.largest_group)

    def _fail_leftovers(self) -> None:
        closed = LedgerClosed("ledger writer closed before this write ran")
        leftovers, self._carry = self._carry, []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                leftovers.extend(item)
        for pending in leftovers:
            _post(pending, False, closed)


def _run_isolated(conn: Connection, cursor: Any, op: Op[Any]) -> tuple[bool, Any]:
    """Run one op under its own savepoint: if it raises, only its own writes are undone.

    The savepoint is driven on the DBAPI cursor: SQLAlchemy's ``begin_nested()`` costs more
    than the op it wraps on the hot path, and an op's own ``begin_nested()`` nests inside.
    """
    cursor.execute("SAVEPOINT op")
    try:
        result = op(conn)
    except Exception as e:
        cursor.execute("ROLLBACK TO SAVEPOINT op")
        cursor.execute("RELEASE SAVEPOINT op")
        return False, _op_error(e)
    cursor.execute("RELEASE SAVEPOINT op")
    return True, result


def _op_error(e: Exception) -> Exception:
    """The exception an op's caller sees: SQLAlchemy errors translated, others as raised."""
    if isinstance(e, exc.SQLAlchemyError):
        err = translate(e, "ledger write")
        err.__cause__ = e
        return err
    return e


def _group_error(e: Exception, doing: str) -> DatabaseError:
    if isinstance(e, exc.SQLAlchemyError):
        err = translate(e, doing)
    else:
        err = DatabaseError(f"{doing}: {type(e).__name__}: {e}")
    err.__cause__ = e
    return err


def _discard(conn: Connection | None) -> None:
    # After a failed group the connection may be broken; the next group takes a fresh one.
    if conn is not None:
        with contextlib.suppress(exc.SQLAlchemyError):
            conn.close()


__all__ = ["LedgerWriter", "Op", "WriterStats"]

"""The terminal's journal: one SQLite file, WAL, ``synchronous=FULL``, one writer.

Every write is one ``BEGIN IMMEDIATE`` … ``COMMIT`` named after what it records, with a crash
point just before and just after the commit, so a power cut can be placed on either side of
any write (see :mod:`possettle.terminal.crashpoints`). A size limit (``max_bytes``) turns into
SQLite's ``max_page_count``: the journal then fails with :class:`StorageFull` exactly as a full
flash would, and nothing half-written remains.

An "open" marker is set when a process opens the journal and cleared when it closes it
cleanly; finding it set means the last process died (power cut or crash) and is journaled as
an ``unclean_shutdown`` event for the doctor.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from possettle.clock import Clock
from possettle.crypto.vault import Vault
from possettle.terminal.crashpoints import CrashPoints
from possettle.terminal.errors import JournalCorrupt, JournalError, StorageFull
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import Detail, Event, EventKind, UncleanShutdown
from possettle.terminal.journal.schema import MIGRATIONS, VERSION

PAGE_SIZE = 4096


def translate(exc: sqlite3.Error, what: str) -> JournalError:
    """SQLite's error as the journal's (the one translation, for writes and reads)."""
    text = str(exc)
    if "full" in text:
        return StorageFull(f"journal is full while writing {what}: {text}")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return JournalCorrupt(
            f"journal is corrupt while {what}: {text} (`possettle terminal export --rescue` "
            "exports what can still be read; `possettle terminal rescue` rebuilds it)"
        )
    return JournalError(f"journal error while {what}: {text}")


class Journal:
    """Typed access lives in :mod:`.queries`; this class owns the connection and transactions."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, clock: Clock, crash: CrashPoints, vault: Vault
    ) -> None:
        self.conn = conn
        self.path = path
        self.clock = clock
        self.crash = crash
        self.vault = vault
        self.unclean = False
        self.commits = 0  # durable write transactions since open (benchmarks read it)

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        clock: Clock,
        vault: Vault,
        crash: CrashPoints | None = None,
        max_bytes: int | None = None,
        extra_schema: tuple[str, ...] = (),
    ) -> Journal:
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            if max_bytes is not None:
                conn.execute(f"PRAGMA max_page_count={max(16, max_bytes // PAGE_SIZE)}")
        except sqlite3.Error as exc:
            raise translate(exc, f"opening {path}") from exc
        journal = cls(conn, path, clock, crash or CrashPoints(), vault)
        journal._migrate(extra_schema)
        journal._mark_open()
        return journal

    def _migrate(self, extra_schema: tuple[str, ...]) -> None:
        try:
            current = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
            if current > VERSION:
                raise JournalError(
                    f"journal {self.path} is schema version {current}; this software knows "
                    f"up to {VERSION} (update the terminal software)"
                )
            self.conn.execute("BEGIN IMMEDIATE")
            for version in range(current + 1, VERSION + 1):
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
            for script in extra_schema:
                for statement in script.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version={VERSION}")
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise translate(exc, "creating the journal's tables") from exc

    def _mark_open(self) -> None:
        with self.write("meta") as conn:
            self.unclean = self.get_meta("open", conn) == "1"
            if self.unclean:
                # the batch that was open when it stopped: a stop during an earlier batch's
                # work is history once that batch settled (the doctor weighs it so)
                batch = self.get_meta("batch", conn) or "1"  # no row yet: the first batch
                since = self.get_meta("opened_at", conn)
                self.add_event(conn, UncleanShutdown(since=since, batch=int(batch)))
            self.set_meta(conn, "open", "1")
            self.set_meta(conn, "opened_at", self.now())

    def close(self) -> None:
        """Clear the open marker (a clean stop) and close the connection."""
        with contextlib.suppress(JournalError), self.write("meta") as conn:
            self.set_meta(conn, "open", "0")
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def abandon(self) -> None:
        """Close without clearing the open marker: the process is going down uncleanly."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def now(self) -> str:
        return self.clock.now().isoformat(timespec="seconds")

    @contextlib.contextmanager
    def write(self, name: str) -> Iterator[sqlite3.Connection]:
        """One durable write transaction named ``name`` (crash points around its commit)."""
        point = f"journal.{name}"
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate(exc, f"starting {name}") from exc
        try:
            yield self.conn
            if name not in ("meta", "event"):
                self.crash.hit(f"{point}.before")
            self.conn.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise translate(exc, f"writing {name}") from exc
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise
        if name not in ("meta", "event"):
            self.crash.hit(f"{point}.after")

    # ------------------------------------------------------------------ meta and events

    def get_meta(self, key: str, conn: sqlite3.Connection | None = None) -> str | None:
        row = (conn or self.conn).execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def add_event(self, conn: sqlite3.Connection, detail: Detail) -> None:
        """Record ``detail`` (its kind and code come with it) inside the caller's write."""
        q.insert_event(conn, self.now(), detail)

    def event(self, detail: Detail) -> None:
        """Record one event in its own transaction (refusals, link errors, printer faults)."""
        with self.write("event") as conn:
            self.add_event(conn, detail)

    def events(self, kind: EventKind | None = None, limit: int = 100) -> list[Event]:
        """The latest events (newest first), of one kind or all (see :mod:`.events`)."""
        return q.events(self.conn, kind, limit)

    def integrity_ok(self) -> bool:
        try:
            return str(self.conn.execute("PRAGMA quick_check").fetchone()[0]) == "ok"
        except sqlite3.DatabaseError:
            return False

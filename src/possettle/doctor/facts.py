"""What the journal says, read without writing (diagnosis is read-only).

The journal is opened ``mode=ro``; a journal that cannot be read, or fails its integrity
check, is itself the finding (``storage.corrupt``).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from possettle.errors import ConfigError
from possettle.terminal.config import JOURNAL_FILE, TerminalConfig
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import (
    Event,
    EventKind,
    PrintFailed,
    Refusal,
    SettleFailed,
)
from possettle.terminal.journal.records import ReversalRow, SettlementRow, TxnRow, TxnState
from possettle.terminal.journal.store import PAGE_SIZE
from possettle.terminal.keepalive import LINK_SINCE, LINK_STATE, LinkState


@dataclass
class JournalFacts:
    config: TerminalConfig | None
    readable: bool
    integrity_ok: bool | None = None
    error: str = ""
    journal_bytes: int = 0
    free_bytes: int = 0
    used_pages: int = 0  # pages in use (the WAL's included), free-list pages left out
    max_pages: int | None = None  # the configured size limit, in pages (store.py's rule)
    batch: int | None = None
    settlement: SettlementRow | None = None  # the latest
    failure: SettleFailed | None = None  # the latest settle_failed after it began
    events: list[Event] = field(default_factory=list)  # newest first (journal/events.py)
    reversals: list[ReversalRow] = field(default_factory=list)
    offline: list[TxnRow] = field(default_factory=list)
    recent_codes: Counter[str] = field(default_factory=Counter)
    print_queue: int = 0
    signed_on: bool = False
    signed_on_at: str | None = None
    #: no sign-on ever succeeded: no working keys, no batch from the host (not ready)
    never_signed_on: bool = False
    clock_offset: float = 0.0
    #: the link as the terminal's own echoes and status reports last found it, and since when
    link_state: LinkState = LinkState.UNKNOWN
    link_since: str | None = None
    open_marker: bool = False
    txn_count: int = 0
    # STANs a void was refused for because their sale is in a batch settled since (the void
    # came after the settlement: operation.out_of_order, use a refund)
    voids_after_settlement: list[int] = field(default_factory=list)
    # failed password attempts in a row per operator (a good password resets the count)
    operator_failures: dict[str, int] = field(default_factory=dict)

    def events_of(self, kind: EventKind) -> list[Event]:
        return [e for e in self.events if e.kind is kind]

    @property
    def unsettled_batch(self) -> int | None:
        """The batch of the latest settlement while it has not finished: stopped at a step, or
        closed at the host with its slip still waiting for the printer (the terminal then holds
        the next batch open)."""
        st = self.settlement
        if st is None:
            return None
        if st.step.value != "done" or self.failure is not None:
            return st.batch
        printing = any(
            isinstance(e.detail, PrintFailed) and e.at >= st.started_at for e in self.events
        )
        return st.batch if printing and self.print_queue else None

    @property
    def has_data(self) -> bool:
        return self.readable and (self.txn_count > 0 or bool(self.events) or self.signed_on)


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def read_journal(directory: Path, now: datetime) -> JournalFacts:
    try:
        config: TerminalConfig | None = TerminalConfig.load(directory)
    except ConfigError:
        config = None
    path = directory / JOURNAL_FILE
    facts = JournalFacts(config=config, readable=False)
    if not path.exists():
        facts.error = f"no journal at {path}"
        return facts
    facts.journal_bytes = sum(
        p.stat().st_size for p in directory.glob(JOURNAL_FILE + "*") if p.is_file()
    )
    facts.free_bytes = shutil.disk_usage(directory).free
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            facts.integrity_ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            _read(conn, facts, now)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        facts.readable = False
        facts.integrity_ok = False
        facts.error = str(exc)
    return facts


def _read(conn: sqlite3.Connection, facts: JournalFacts, now: datetime) -> None:
    facts.readable = True
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    facts.used_pages = pages - int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    limit = facts.config.max_journal_bytes if facts.config else None
    if limit is not None:
        # The journal turns its byte limit into SQLite's max_page_count this way (store.py):
        # a write that needs one more page fails as a full flash would.
        facts.max_pages = max(16, limit // PAGE_SIZE)
    facts.batch = q.current_batch(conn)
    facts.settlement = q.last_settlement(conn)
    facts.events = q.events(conn, limit=500)
    if facts.settlement is not None:
        started, batch = facts.settlement.started_at, facts.settlement.batch
        failures = [
            e.detail
            for e in facts.events
            if isinstance(e.detail, SettleFailed) and e.at >= started and e.detail.batch == batch
        ]
        if failures and facts.settlement.step.value != "done":
            facts.failure = failures[0]
    facts.reversals = q.pending_reversals(conn)
    facts.offline = q.txns_in_state(conn, TxnState.OFFLINE_PENDING)
    recent = conn.execute(
        "SELECT response_code FROM txns WHERE response_code != '' ORDER BY id DESC LIMIT 50"
    )
    facts.recent_codes = Counter(str(r[0]) for r in recent)
    facts.print_queue = int(
        conn.execute("SELECT count(*) FROM print_queue WHERE printed_at = ''").fetchone()[0]
    )
    facts.signed_on = _meta(conn, "key.mak") is not None and _meta(conn, "needs_signon") != "1"
    facts.signed_on_at = _meta(conn, "signed_on_at")
    facts.never_signed_on = facts.signed_on_at is None and _meta(conn, "key.mak") is None
    facts.clock_offset = float(_meta(conn, "clock_offset") or 0.0)
    facts.link_state = LinkState.read(_meta(conn, LINK_STATE))
    facts.link_since = _meta(conn, LINK_SINCE)
    facts.open_marker = _meta(conn, "open") == "1"
    facts.txn_count = int(conn.execute("SELECT count(*) FROM txns").fetchone()[0])
    has_operators = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'operators'"
    ).fetchone()
    if has_operators:
        facts.operator_failures = {
            str(r[0]): int(r[1]) for r in conn.execute("SELECT id, failed_attempts FROM operators")
        }
    for e in facts.events:
        d = e.detail
        if (
            isinstance(d, Refusal)
            and d.code == "input.original"
            and d.operation == "void"
            and d.stan is not None
        ):
            settled = conn.execute(
                "SELECT 1 FROM txns t JOIN settlements s ON s.batch = t.batch"
                " WHERE t.stan = ? AND t.kind = 'sale' AND t.batch != ? AND s.step = 'done'",
                (d.stan, facts.batch),
            ).fetchone()
            if settled is not None:
                facts.voids_after_settlement.append(d.stan)
    del now

"""What every handler is given: the database, the issuer, the clock, the configuration.

The values a host mints itself are injectable so that a test can pin a reply byte for byte
(the golden vectors): the clock comes with the :class:`Database` (``Database.open(clock=)``),
retrieval reference numbers from :attr:`HostContext.rrns` (any :class:`RrnSource`) and the
working keys of a sign-on from :attr:`HostContext.issue_keys`. The authorization code is the
issuer's (field 38 comes from the :class:`IssuerConnector`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.engine import Connection

from possettle.clock import Clock
from possettle.crypto.keys import Key, WorkingKeys, issue_working_keys
from possettle.host.bad_frames import BadFrameRecorder
from possettle.host.config import HostConfig
from possettle.host.crashpoints import HostCrashPoints
from possettle.host.log_budget import LogBudget
from possettle.host.observer import HostObserver, NoObserver
from possettle.host.policy import PolicyCache
from possettle.host.reversals.sender import Reversals
from possettle.host.state_cache import TerminalStateCache
from possettle.iso8583.codec import Fields
from possettle.ledger.database import Database
from possettle.ledger.queries import dialect_insert
from possettle.ledger.schema import counters
from possettle.upstream.connector import IssuerConnector

RRN_BLOCK = 1000


def reserve_counter(conn: Connection, name: str, count: int) -> int:
    """Add ``count`` to counter ``name`` atomically and return the new (last reserved) value."""
    stmt = dialect_insert(conn, counters).values(name=name, value=count)
    stmt = stmt.on_conflict_do_update(
        index_elements=[counters.c.name], set_={"value": counters.c.value + count}
    ).returning(counters.c.value)
    return int(conn.execute(stmt).scalar_one())


class RrnSource(Protocol):
    async def next(self) -> str:
        """The next retrieval reference number (field 37, 12 characters), never repeated."""
        ...


#: fresh working keys for a terminal's TMK and the 0810 field 62 that carries them
KeyIssuer = Callable[[Key], tuple[WorkingKeys, bytes]]


class RrnAllocator:
    """Retrieval reference numbers from one host-wide counter, reserved in blocks.

    A block is reserved with one durable write, so an RRN can be handed to the issuer before
    the request's own ledger write; several host processes never share a block. A crash
    leaves a gap, never a repeat.
    """

    def __init__(self, db: Database, block: int = RRN_BLOCK) -> None:
        self._db = db
        self._block = block
        self._next = 0
        self._end = 0
        self._lock = asyncio.Lock()

    async def next(self) -> str:
        if self._next >= self._end:
            async with self._lock:
                if self._next >= self._end:
                    block = self._block
                    last = await self._db.write(lambda c: reserve_counter(c, "rrn", block))
                    self._next, self._end = last - block + 1, last + 1
        value = self._next
        self._next += 1
        return f"{value % 10**12:012d}"


class HostContext:
    def __init__(
        self,
        db: Database,
        issuer: IssuerConnector,
        config: HostConfig,
        *,
        rrns: RrnSource | None = None,
        issue_keys: KeyIssuer = issue_working_keys,
        observer: HostObserver | None = None,
        crash: HostCrashPoints | None = None,
    ) -> None:
        self.db = db
        self.issuer = issuer
        self.config = config
        self.rrns: RrnSource = rrns if rrns is not None else RrnAllocator(db)
        self.issue_keys = issue_keys
        self.terminals = TerminalStateCache(db.clock, config.terminal_cache_ttl)
        self.policy = PolicyCache(db, config.policy_cache_ttl)
        #: who hears of this process's requests, latencies and refusals (the monitor's metrics
        #: under ``host serve --metrics-port``; nobody by default)
        self.observer: HostObserver = observer if observer is not None else NoObserver()
        #: format and MAC errors, counted and sampled (written by interval, not per frame)
        self.bad_frames = BadFrameRecorder(db, config, self.observer)
        #: log lines for refusals anyone can provoke (97, 03), a few per second
        self.refusal_log = LogBudget(db.clock)
        #: named crash points (``POSSETTLE_HOST_CRASH_AT``; no-ops unless set)
        self.crash = crash if crash is not None else HostCrashPoints.from_env()
        #: intents and the durable sender of upstream reversals (``serve()`` runs it)
        self.reversals = Reversals(db, issuer, config, crash=self.crash)

    @property
    def clock(self) -> Clock:
        return self.db.clock

    def digest(self, fields: Fields) -> str:
        """The keyed content digest of a request for the exactly-once check (MAC excluded)."""
        canon = json.dumps({k: v for k, v in fields.items() if k != "64"}, sort_keys=True)
        return self.db.vault.digest(canon.encode())

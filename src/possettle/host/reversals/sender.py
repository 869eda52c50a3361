"""The host's side of upstream reversals: intents, the durable sender, late replies.

One :class:`Reversals` per host process (``HostContext.reversals``); ``host serve`` runs
:meth:`Reversals.run` as a background task for as long as it serves. The sender leases due
rows (``store.claim_due``), sends each through the connector's
:meth:`~possettle.upstream.connector.IssuerConnector.send_reversal` and records the attempt:
acknowledged on a 0410 with a final code, otherwise back-off by the
:class:`~possettle.upstream.retry.RetryPolicy` — from the ledger, so after any restart, by
whichever host process gets the lease.

When the ledger itself cannot be written, a reversal that should have been stored is kept in
memory and written again on every round, loudly logged (and its intent row, written before
the request left, is still there for a restarted host to take over).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy.engine import Connection

from possettle.crypto.errors import CryptoError
from possettle.errors import ConfigError
from possettle.host.config import HostConfig
from possettle.host.crashpoints import HostCrashPoints
from possettle.host.reversals import store
from possettle.host.reversals.intent import AskedIssuer
from possettle.host.reversals.machine import Outcome, after_attempt, classify
from possettle.ledger.database import Database
from possettle.ledger.errors import LedgerError
from possettle.ledger.kinds import ReversalState
from possettle.upstream.connector import (
    AuthKind,
    AuthRequest,
    AuthResult,
    IssuerConnector,
    LateReply,
    UpstreamReversal,
)
from possettle.upstream.errors import UpstreamError, UpstreamProtocolError, UpstreamTimeout
from possettle.upstream.retry import RetryPolicy

log = structlog.get_logger("possettle.host")

T = TypeVar("T")

#: reversals leased per round (each is sent concurrently, bounded by the attempt timeout)
CLAIM_LIMIT = 32


def process_owner() -> str:
    """This process's name on the leases it takes: host, pid and a random tag."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def retry_policy(config: HostConfig) -> RetryPolicy:
    """The back-off of ``config``; a :class:`ConfigError` names a value that cannot work."""
    for name in ("issuer_timeout", "reversal_timeout", "reversal_lease", "reversal_poll"):
        if not getattr(config, name) > 0:
            raise ConfigError(f"host config: {name} must be above 0 seconds")
    if not 0 < config.reversal_retry_initial <= config.reversal_retry_max:
        raise ConfigError(
            "host config: reversal_retry_initial must be above 0 and at most reversal_retry_max"
        )
    if not 0 <= config.reversal_retry_jitter < 1:
        raise ConfigError("host config: reversal_retry_jitter must be from 0 up to (not) 1")
    return RetryPolicy(
        initial=config.reversal_retry_initial,
        factor=2.0,
        maximum=config.reversal_retry_max,
        jitter=config.reversal_retry_jitter,
    )


@dataclass(slots=True)
class _Unsaved:
    """A reversal the ledger refused to store; written again every round."""

    asked: AskedIssuer
    reason: str

    def store(self, conn: Connection) -> None:
        self.asked.reverse(conn, self.reason)


class Reversals:
    """Intents before the issuer is asked, and the sender that works off pending reversals."""

    def __init__(
        self,
        db: Database,
        issuer: IssuerConnector,
        config: HostConfig,
        *,
        crash: HostCrashPoints | None = None,
        owner: str | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._db = db
        self._issuer = issuer
        self._config = config
        self.crash = crash if crash is not None else HostCrashPoints()
        self.owner = owner or process_owner()
        self._rand = rand
        self._policy = retry_policy(config)
        self._wake = asyncio.Event()
        self._late: asyncio.Queue[LateReply] = asyncio.Queue()
        self._unsaved: list[_Unsaved] = []
        self._reads: set[asyncio.Future[Any]] = set()

    # --- the request path ------------------------------------------------------------------

    async def begin(self, auth: AuthRequest) -> store.NewReversal | None:
        """Write the intent of a financial request before it goes to the issuer."""
        if auth.kind is AuthKind.BALANCE:
            return None  # changes nothing at the issuer: nothing to undo
        new = store.NewReversal(auth, self._issuer.describe(auth), self._issuer.name)
        now = self._db.clock.now()
        until = now + timedelta(seconds=self._config.issuer_timeout + self._config.reversal_lease)
        vault, owner = self._db.vault, self.owner
        await self._db.write(lambda c: store.write_intent(c, vault, new, owner, now, until))
        return new

    def asked(
        self, result: AuthResult, in_doubt: bool, new: store.NewReversal | None
    ) -> AskedIssuer:
        return AskedIssuer(result, in_doubt, new, self.owner, self._db.vault, self._db.clock.now())

    def stored(self, asked: AskedIssuer, answer: str | None) -> None:
        """After the commit that settled ``asked`` with ``answer`` (None: an earlier copy's
        answer stood): wake the sender if a reversal is owed now."""
        if asked.reversal_reason(answer) is not None:
            if asked.in_doubt:
                self.crash.hit("upstream.reversal_stored")
            self._wake.set()

    def wake(self) -> None:
        """A reversal was stored by a handler: send it now rather than at the next poll."""
        self._wake.set()

    async def rescue(self, asked: AskedIssuer, reason: str) -> None:
        """The handler's commit failed: store the reversal on its own (memory if need be)."""
        if asked.new is None:
            return
        try:
            await self._db.write(lambda c: asked.reverse(c, reason))
        except LedgerError as exc:
            log.error(
                "upstream reversal NOT stored: the ledger refused it; kept in memory and retried",
                rrn=asked.new.rrn,
                reason=reason,
                error=str(exc),
            )
            self._unsaved.append(_Unsaved(asked, reason))
        self._wake.set()

    def late_reply(self, late: LateReply) -> None:
        """The connector's late-reply handler: recorded by the sender's task, never dropped."""
        self._late.put_nowait(late)

    # --- the sender ------------------------------------------------------------------------

    async def run(self) -> None:
        """Send pending reversals until cancelled; an unexpected error ends it (and the host)."""
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._record_late_replies(), name="upstream late replies")
                tasks.create_task(self._send_forever(), name="upstream reversal sender")
        finally:
            # A read cancelled with us still runs in its thread on a pooled connection: let it
            # give the connection back before the host closes the ledger.
            if self._reads:
                await asyncio.gather(*self._reads, return_exceptions=True)

    async def _read(self, op: Callable[[Connection], T]) -> T:
        task = asyncio.ensure_future(self._db.read(op))
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)
        return await asyncio.shield(task)

    @property
    def unsaved(self) -> tuple[str, ...]:
        """RRNs of reversals the ledger has not accepted yet (kept in memory meanwhile)."""
        return tuple(u.asked.new.rrn for u in self._unsaved if u.asked.new is not None)

    async def step(self) -> int:
        """One round: store what was refused before, lease due reversals and send them.

        Returns how many were sent (tests drive the sender with this and a fixed clock).
        """
        await self._store_unsaved()
        now = self._db.clock.now()
        lease = timedelta(seconds=self._config.reversal_timeout + self._config.reversal_lease)
        owner = self.owner
        claimed = await self._db.write(lambda c: store.claim_due(c, owner, now, lease, CLAIM_LIMIT))
        if not claimed:
            return 0
        self.crash.hit("reversal.claimed")
        await asyncio.gather(*(self._attempt(rev) for rev in claimed))
        return len(claimed)

    async def _send_forever(self) -> None:
        poll = self._config.reversal_poll
        while True:
            try:
                if await self.step():
                    continue
                due = await self._read(store.next_due)
            except LedgerError as exc:
                log.error("upstream reversal sender cannot use the ledger", error=str(exc))
                due = None
            wait = poll
            if due is not None:
                wait = min(poll, max((due - self._db.clock.now()).total_seconds(), 0.0))
            self._wake.clear()
            if self._unsaved:
                wait = min(wait, max(self._policy.initial, 0.05))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.01)):
                    await self._wake.wait()

    async def _attempt(self, rev: store.Claimed) -> None:
        code: str | None = None
        try:
            reversal = UpstreamReversal(rev.original(self._db.vault), rev.reason, rev.auth_code)
        except (CryptoError, ValueError, KeyError) as exc:
            log.error("upstream reversal original does not open", rrn=rev.rrn, error=str(exc))
            outcome = Outcome.UNSEALABLE
        else:
            try:
                result = await self._issuer.send_reversal(reversal, self._config.reversal_timeout)
            except UpstreamTimeout:
                outcome = Outcome.NO_REPLY
            except UpstreamProtocolError:
                outcome = Outcome.UNREADABLE
            except UpstreamError:
                outcome = Outcome.UNAVAILABLE
            else:
                code = result.response_code
                outcome = classify(code)
                self.crash.hit("reversal.answered")
        now = self._db.clock.now()
        step = after_attempt(rev.attempts, outcome, code, now, self._policy, self._rand)
        owner = self.owner
        try:
            kept = await self._db.write(lambda c: store.record_attempt(c, rev, owner, step, now))
        except LedgerError as exc:
            # The lease runs out and the reversal is sent again: the issuer takes it twice
            # rather than never.
            log.error("upstream reversal attempt not recorded", rrn=rev.rrn, error=str(exc))
            return
        if not kept:
            log.warning("upstream reversal lease lost before its attempt was recorded", rrn=rev.rrn)
            return
        if step.done:
            log.info(
                "upstream reversal acknowledged",
                rrn=rev.rrn,
                code=code,
                attempts=step.attempts,
                owner=owner,
            )
            self.crash.hit("reversal.acknowledged")
        else:
            log.warning(
                "upstream reversal not acknowledged; will retry",
                rrn=rev.rrn,
                outcome=step.last_outcome,
                attempts=step.attempts,
                next_attempt_at=step.next_attempt_at.isoformat() if step.next_attempt_at else None,
            )
            self.crash.hit("reversal.retry_scheduled")

    async def _store_unsaved(self) -> None:
        waiting, self._unsaved = self._unsaved, []
        for item in waiting:
            try:
                await self._db.write(item.store)
            except LedgerError as exc:
                log.error(
                    "upstream reversal still NOT stored; kept in memory",
                    rrn=item.asked.new.rrn if item.asked.new else "?",
                    error=str(exc),
                )
                self._unsaved.append(item)

    async def _record_late_replies(self) -> None:
        while True:
            late = await self._late.get()
            note = _LateNote(late, self.owner, self._db.clock.now())
            try:
                state = await self._db.write(note.record)
            except LedgerError as exc:
                log.error("upstream late reply not recorded", rrn=late.rrn, error=str(exc))
                continue
            log.warning(
                "upstream late reply recorded",
                mti=late.mti,
                rrn=late.rrn,
                code=late.result.response_code,
                reversal=None if state is None else state.value,
            )
            self._wake.set()


@dataclass(frozen=True, slots=True)
class _LateNote:
    late: LateReply
    owner: str
    now: datetime

    def record(self, conn: Connection) -> ReversalState | None:
        late = self.late
        code, auth_code = late.result.response_code, late.result.auth_code
        return store.note_late_reply(
            conn, late.mti, late.rrn, code, auth_code, self.owner, self.now
        )

"""The durable reversal sender, driven round by round with a fixed clock (SQLite and PG).

A "restart" is a new :class:`Reversals` (another owner) on the same ledger: everything it
knows comes from the rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from possettle.clock import FixedClock
from possettle.host.config import HostConfig
from possettle.host.reversals import store
from possettle.host.reversals.intent import AskedIssuer
from possettle.host.reversals.sender import Reversals
from possettle.ledger.database import Database
from possettle.ledger.errors import DatabaseError
from possettle.ledger.kinds import ReversalState
from possettle.ledger.schema import host_events, upstream_reversals
from possettle.money import Money
from possettle.upstream.connector import (
    AuthKind,
    AuthRequest,
    AuthResult,
    LateReply,
    LateReplyHandler,
    SentRequest,
    UpstreamReversal,
)
from possettle.upstream.errors import UpstreamTimeout, UpstreamUnavailable

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PAN = "6222021234567890128"
CONFIG = HostConfig(
    db_url="unused",
    issuer_timeout=2.0,
    reversal_timeout=1.0,
    reversal_retry_initial=0.5,
    reversal_retry_max=4.0,
    reversal_retry_jitter=0.0,
    reversal_lease=10.0,
)


@dataclass
class ScriptedIssuer:
    """Answers each reversal attempt with the next scripted outcome (then ``00``)."""

    name: str = "scripted"
    script: list[AuthResult | Exception] = field(default_factory=list)
    sent: list[UpstreamReversal] = field(default_factory=list)

    async def start(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    def describe(self, req: AuthRequest) -> SentRequest:
        return SentRequest(req.rrn, {"t": "0200", "2": req.pan, "37": req.rrn})

    async def authorize(self, req: AuthRequest, timeout: float) -> AuthResult:  # noqa: ASYNC109
        raise AssertionError("the sender never authorizes")

    async def send_reversal(self, reversal: UpstreamReversal, timeout: float) -> AuthResult:  # noqa: ASYNC109
        self.sent.append(reversal)
        answer = self.script.pop(0) if self.script else AuthResult("00")
        if isinstance(answer, Exception):
            raise answer
        return answer

    def set_late_reply_handler(self, handler: LateReplyHandler | None) -> None:
        pass


class FlakyDatabase(Database):
    """A ledger whose writes fail while ``down`` is set (a lost database server)."""

    down = False

    async def write(self, op: Any) -> Any:
        if self.down:
            raise DatabaseError("the ledger is down (test)")
        return await super().write(op)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture
async def db(db_url: str, tmp_path: Path, clock: FixedClock) -> AsyncIterator[FlakyDatabase]:
    database = FlakyDatabase.open(db_url, key_file=tmp_path / "host.key", clock=clock)
    assert isinstance(database, FlakyDatabase)
    await database.start()
    yield database
    await database.close()


def auth(n: int) -> AuthRequest:
    return AuthRequest(
        kind=AuthKind.SALE,
        pan=PAN,
        expiry="3012",
        amount=Money(10_000 + n),
        stan=f"{n:06d}",
        rrn=f"{n:012d}",
        tid="12345678",
        mid="123456789012345",
        local_time=AT,
    )


async def timed_out(rev: Reversals, db: Database, n: int) -> AskedIssuer:
    """A request that got no answer, stored with its 98 the way a handler's commit does."""
    new = await rev.begin(auth(n))
    asked = rev.asked(AuthResult("98"), True, new)
    await db.write(lambda c: asked.settle(c, "98"))
    return asked


async def rows(db: Database) -> list[store.ReversalRow]:
    return await db.read(store.list_reversals)


async def test_a_reversal_is_sent_again_after_a_restart_with_back_off_until_acknowledged(
    db: FlakyDatabase, clock: FixedClock
) -> None:
    issuer = ScriptedIssuer(script=[UpstreamTimeout("no 0410"), AuthResult("96")])
    first = Reversals(db, issuer, CONFIG, owner="host-a")
    await timed_out(first, db, 1)
    assert await first.step() == 1  # no reply
    [row] = await rows(db)
    assert (row.state, row.attempts, row.last_outcome) == (ReversalState.PENDING, 1, "no_reply")

    restarted = Reversals(db, ScriptedIssuer(script=issuer.script), CONFIG, owner="host-b")
    assert await restarted.step() == 0  # backing off: due 0.5 s after the first attempt
    clock.advance(0.5)
    assert await restarted.step() == 1  # 0410 with 96: not processed yet
    clock.advance(0.9)
    assert await restarted.step() == 0  # the second back-off is 1 s
    clock.advance(0.1)
    assert await restarted.step() == 1  # 0410 with 00
    [row] = await rows(db)
    assert (row.state, row.attempts, row.response_code, row.acknowledged_by) == (
        ReversalState.ACKNOWLEDGED,
        3,
        "00",
        "host-b",
    )
    clock.advance(3600)
    assert await restarted.step() == 0 and await first.step() == 0  # done is done


async def test_the_reversal_repeats_the_sealed_original_which_never_holds_a_clear_pan(
    db: FlakyDatabase,
) -> None:
    issuer = ScriptedIssuer()
    rev = Reversals(db, issuer, CONFIG, owner="host-a")
    await timed_out(rev, db, 7)
    await rev.step()
    [sent] = issuer.sent
    assert sent.original == issuer.describe(auth(7)) and sent.reason == "98"
    raw = await db.read(
        lambda c: c.execute(sa.select(upstream_reversals.c.original_sealed)).scalar_one()
    )
    assert PAN.encode() not in raw
    [row] = await rows(db)
    assert row.pan_masked == "622202*********0128"


async def test_an_intent_left_by_a_dead_host_is_reversed_once_its_lease_runs_out(
    db: FlakyDatabase, clock: FixedClock
) -> None:
    dead = Reversals(db, ScriptedIssuer(), CONFIG, owner="host-a")
    await dead.begin(auth(2))  # the request went out; the host died before any answer
    issuer = ScriptedIssuer()
    other = Reversals(db, issuer, CONFIG, owner="host-b")
    assert await other.step() == 0  # the issuer may still answer host-a
    clock.advance(CONFIG.issuer_timeout + CONFIG.reversal_lease + 0.001)
    assert await other.step() == 1
    assert [(s.rrn, s.reason) for s in issuer.sent] == [(auth(2).rrn, "96")]
    [row] = await rows(db)
    assert row.state is ReversalState.ACKNOWLEDGED


async def test_an_answered_request_leaves_no_row(db: FlakyDatabase, clock: FixedClock) -> None:
    rev = Reversals(db, ScriptedIssuer(), CONFIG, owner="host-a")
    new = await rev.begin(auth(3))
    asked = rev.asked(AuthResult("00", "123456"), False, new)
    await db.write(lambda c: asked.settle(c, "00"))
    assert await rows(db) == []
    clock.advance(3600)
    assert await rev.step() == 0


@pytest.mark.parametrize(("answer", "reason"), [(None, "94"), ("12", "12"), ("97", "12")])
async def test_an_approval_the_host_did_not_book_is_reversed(
    db: FlakyDatabase, answer: str | None, reason: str
) -> None:
    rev = Reversals(db, ScriptedIssuer(), CONFIG, owner="host-a")
    new = await rev.begin(auth(4))
    asked = rev.asked(AuthResult("00", "654321"), False, new)
    await db.write(lambda c: asked.settle(c, answer))
    [row] = await rows(db)
    assert (row.state, row.reason) == (ReversalState.PENDING, reason)


async def test_two_processes_never_hold_the_same_reversal_and_each_is_acknowledged_once(
    db: FlakyDatabase, db_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    other_db = Database.open(db_url, key_file=tmp_path / "host.key", clock=clock)
    await other_db.start()
    try:
        a = Reversals(db, ScriptedIssuer(), CONFIG, owner="host-a")
        for n in range(10, 40):
            await timed_out(a, db, n)
        lease = CONFIG.reversal_timeout + CONFIG.reversal_lease
        claims = await asyncio.gather(
            db.write(lambda c: store.claim_due(c, "host-a", AT, timedelta(seconds=lease), 20)),
            other_db.write(
                lambda c: store.claim_due(c, "host-b", AT, timedelta(seconds=lease), 20)
            ),
        )
        got_a, got_b = ({r.rrn for r in claim} for claim in claims)
        assert not got_a & got_b, "a reversal leased to two processes at once"
        assert got_a | got_b <= {auth(n).rrn for n in range(10, 40)} and (got_a or got_b)
        # Both senders now run to the end, each on its own ledger connection.
        issuer_a, issuer_b = ScriptedIssuer(), ScriptedIssuer()
        ra = Reversals(db, issuer_a, CONFIG, owner="host-a")
        rb = Reversals(other_db, issuer_b, CONFIG, owner="host-b")
        clock.advance(lease + 1)  # the test's own claims lapse unanswered
        while await asyncio.gather(ra.step(), rb.step()) != [0, 0]:
            pass
        done = await rows(db)
        assert [r.state for r in done] == [ReversalState.ACKNOWLEDGED] * 30
        sent_a = [s.rrn for s in issuer_a.sent]
        sent_b = [s.rrn for s in issuer_b.sent]
        assert sorted(sent_a + sent_b) == sorted(r.rrn for r in done)  # each sent once
        assert {r.acknowledged_by for r in done} <= {"host-a", "host-b"}
    finally:
        await other_db.close()


async def test_a_late_approval_that_beats_the_98_commit_still_makes_one_reversal(
    db: FlakyDatabase,
) -> None:
    issuer = ScriptedIssuer()
    rev = Reversals(db, issuer, CONFIG, owner="host-a")
    runner = asyncio.create_task(rev.run())
    try:
        new = await rev.begin(auth(5))
        # The 0210 arrives after the timeout and before the handler's commit of the 98.
        rev.late_reply(LateReply("0210", auth(5).rrn, AuthResult("00", "A1B2C3")))
        for _ in range(500):
            if await rows(db) and (await rows(db))[0].state is not ReversalState.INTENT:
                break
            await asyncio.sleep(0.01)
        asked = rev.asked(AuthResult("98"), True, new)
        await db.write(lambda c: asked.settle(c, "98"))
        rev.stored(asked, "98")
        for _ in range(500):
            if (await rows(db))[0].state is ReversalState.ACKNOWLEDGED:
                break
            await asyncio.sleep(0.01)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    [row] = await rows(db)
    assert (row.state, row.late_reply_code) == (ReversalState.ACKNOWLEDGED, "00")
    [sent] = issuer.sent
    assert sent.auth_code == "A1B2C3"  # field 38 of the 0400: the late approval's code
    kinds = await db.read(lambda c: c.execute(sa.select(host_events.c.kind)).scalars().all())
    assert kinds == ["upstream_late_reply"]


async def test_a_late_0410_acknowledges_a_pending_reversal(db: FlakyDatabase) -> None:
    rev = Reversals(db, ScriptedIssuer(), CONFIG, owner="host-a")
    await timed_out(rev, db, 6)
    state = await db.write(
        lambda c: store.note_late_reply(c, "0410", auth(6).rrn, "00", None, "host-a", AT)
    )
    assert state is ReversalState.ACKNOWLEDGED
    assert await rev.step() == 0


async def test_a_reversal_the_ledger_refuses_is_kept_in_memory_until_it_is_stored(
    db: FlakyDatabase,
) -> None:
    issuer = ScriptedIssuer()
    rev = Reversals(db, issuer, CONFIG, owner="host-a")
    new = await rev.begin(auth(8))
    asked = rev.asked(AuthResult("00", "111111"), False, new)
    db.down = True  # the handler's booking failed, and so does storing the reversal
    await rev.rescue(asked, "96")
    assert rev.unsaved == (auth(8).rrn,)
    with pytest.raises(DatabaseError):
        await rev.step()
    assert rev.unsaved == (auth(8).rrn,)
    db.down = False
    assert await rev.step() == 1
    assert rev.unsaved == ()
    assert [(s.rrn, s.reason) for s in issuer.sent] == [(auth(8).rrn, "96")]


async def test_an_unexpected_error_in_the_sender_ends_its_run(db: FlakyDatabase) -> None:
    issuer = ScriptedIssuer(script=[RuntimeError("our bug")])
    rev = Reversals(db, issuer, CONFIG, owner="host-a")
    await timed_out(rev, db, 9)
    with pytest.raises(ExceptionGroup) as info:
        await asyncio.wait_for(rev.run(), 10)
    assert [type(e) for e in info.value.exceptions] == [RuntimeError]


async def test_no_connection_to_the_issuer_is_retried_not_fatal(
    db: FlakyDatabase, clock: FixedClock
) -> None:
    issuer = ScriptedIssuer(script=[UpstreamUnavailable("refused")])
    rev = Reversals(db, issuer, CONFIG, owner="host-a")
    await timed_out(rev, db, 11)
    assert await rev.step() == 1
    [row] = await rows(db)
    assert (row.state, row.last_outcome) == (ReversalState.PENDING, "unavailable")
    clock.advance(0.5)
    assert await rev.step() == 1
    assert (await rows(db))[0].state is ReversalState.ACKNOWLEDGED

"""The group-commit writer: one transaction per group, savepoints per op, replies after commit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from possettle.ledger.engine import READ_ONLY
from possettle.ledger.errors import DatabaseError, IntegrityViolation, LedgerClosed
from possettle.ledger.schema import host_events
from possettle.ledger.writer import LedgerWriter

from .conftest import T0, Gate, wait_queued


def insert_event(n: int, kind: str = "test") -> Any:
    def op(conn: Connection) -> int:
        stmt = host_events.insert().values(at=T0, kind=kind, detail=str(n))
        return int(conn.execute(stmt.returning(host_events.c.id)).scalar_one())

    return op


def event_details(engine: Engine, kind: str = "test") -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(host_events.c.detail).where(host_events.c.kind == kind))
        return {r.detail for r in rows}


async def test_hundred_concurrent_writes_commit_as_one_group(engine: Engine) -> None:
    writer = LedgerWriter(engine)
    await writer.start()
    gate = Gate()
    held = await gate.hold(writer)
    tasks = [asyncio.create_task(writer.run(insert_event(n))) for n in range(100)]
    await wait_queued(writer, 100)
    gate.release.set()
    ids = await asyncio.gather(*tasks)
    assert await held == "gate"
    await writer.aclose()

    assert len(set(ids)) == 100
    assert event_details(engine) == {str(n) for n in range(100)}
    assert (writer.stats.groups, writer.stats.ops, writer.stats.largest_group) == (2, 101, 100)
    assert writer.stats.average_group == pytest.approx(50.5)


async def test_unsynchronised_writes_still_share_groups(engine: Engine) -> None:
    writer = LedgerWriter(engine)
    await writer.start()
    await asyncio.gather(*(writer.run(insert_event(n)) for n in range(100)))
    await writer.aclose()
    assert writer.stats.ops == 100
    assert writer.stats.groups <= 20, writer.stats


async def test_max_group_splits_a_long_queue(engine: Engine) -> None:
    writer = LedgerWriter(engine, max_group=10)
    await writer.start()
    gate = Gate()
    held = await gate.hold(writer)
    tasks = [asyncio.create_task(writer.run(insert_event(n))) for n in range(25)]
    await wait_queued(writer, 25)
    gate.release.set()
    await asyncio.gather(held, *tasks)
    await writer.aclose()
    assert (writer.stats.groups, writer.stats.largest_group) == (4, 10)


async def test_a_failing_op_rolls_back_only_itself(engine: Engine) -> None:
    def half_then_fail(conn: Connection) -> int:
        conn.execute(host_events.insert().values(at=T0, kind="test", detail="half"))
        raise ValueError("op gave up after writing half")

    def duplicate_key(conn: Connection) -> int:
        conn.execute(sa.text("INSERT INTO host_policy (name, value) VALUES ('dup', 'a')"))
        conn.execute(sa.text("INSERT INTO host_policy (name, value) VALUES ('dup', 'b')"))
        return 0

    writer = LedgerWriter(engine)
    await writer.start()
    gate = Gate()
    held = await gate.hold(writer)
    ops = [insert_event(n) for n in range(10)]
    ops[3] = half_then_fail
    ops[6] = duplicate_key
    tasks = [asyncio.create_task(writer.run(op)) for op in ops]
    await wait_queued(writer, 10)
    gate.release.set()
    results = await asyncio.gather(held, *tasks, return_exceptions=True)
    await writer.aclose()

    assert isinstance(results[4], ValueError)
    assert str(results[4]) == "op gave up after writing half"
    assert isinstance(results[7], IntegrityViolation)
    assert isinstance(results[7].__cause__, sa.exc.IntegrityError)
    assert event_details(engine) == {str(n) for n in range(10) if n not in (3, 6)}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM host_policy")).scalar_one() == 0
    assert writer.stats.groups == 2


async def test_replies_wait_for_the_commit(engine: Engine) -> None:
    """A slow COMMIT: every reply must find its row already visible to another connection."""

    def slow_commit(conn: Connection) -> None:
        time.sleep(0.2)

    event.listen(engine, "commit", slow_commit)
    writer = LedgerWriter(engine)
    await writer.start()
    seen: list[bool] = []
    with engine.connect() as observer:
        # Deferred BEGIN: on SQLite a default (IMMEDIATE) one would wait for the writer's lock.
        observer.execution_options(**{READ_ONLY: True})

        async def write_then_look(n: int) -> None:
            row_id = await writer.run(insert_event(n))
            # Checked synchronously in the same step that received the reply.
            found = observer.execute(
                sa.select(host_events.c.id).where(host_events.c.id == row_id)
            ).first()
            observer.rollback()
            seen.append(found is not None)

        await asyncio.gather(*(write_then_look(n) for n in range(20)))
    await writer.aclose()
    event.remove(engine, "commit", slow_commit)
    assert seen == [True] * 20


async def test_a_failed_commit_fails_every_op_of_the_group(engine: Engine) -> None:
    # A deferred foreign key is checked at COMMIT, so the savepoints succeed and COMMIT fails.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE probe (mid VARCHAR(15) "
                "REFERENCES merchants (mid) DEFERRABLE INITIALLY DEFERRED)"
            )
        )

    def dangling(conn: Connection) -> str:
        conn.execute(sa.text("INSERT INTO probe (mid) VALUES ('NOSUCHMERCHANT0')"))
        return "dangling"

    writer = LedgerWriter(engine)
    await writer.start()
    gate = Gate()
    held = await gate.hold(writer)
    tasks = [asyncio.create_task(writer.run(op)) for op in (insert_event(1), dangling)]
    await wait_queued(writer, 2)
    gate.release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert await held == "gate"
    # The writer keeps serving after a failed group.
    assert isinstance(await writer.run(insert_event(2)), int)
    await writer.aclose()

    assert all(isinstance(r, DatabaseError) for r in results), results
    assert all("committing a group of 2 ledger writes" in str(r) for r in results)
    assert event_details(engine) == {"2"}
    assert writer.stats.failed_groups == 1


async def test_close_drains_queued_writes_then_refuses(engine: Engine) -> None:
    writer = LedgerWriter(engine)
    await writer.start()
    tasks = [asyncio.create_task(writer.run(insert_event(n))) for n in range(50)]
    await asyncio.sleep(0)  # every task has now queued its op
    await writer.aclose()
    await asyncio.gather(*tasks)
    assert event_details(engine) == {str(n) for n in range(50)}
    with pytest.raises(LedgerClosed, match="ledger writer is closed: write refused"):
        await writer.run(insert_event(99))


async def test_a_writer_that_never_started_refuses_writes(engine: Engine) -> None:
    writer = LedgerWriter(engine)
    with pytest.raises(LedgerClosed, match="ledger writer is new: write refused"):
        await writer.run(insert_event(1))
    await writer.aclose()


CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from datetime import UTC, datetime
    from sqlalchemy import event
    from possettle.ledger.engine import create_engine_for
    from possettle.ledger.schema import host_events
    from possettle.ledger.writer import LedgerWriter

    AT = datetime(2026, 11, 26, tzinfo=UTC)

    async def main(url):
        engine = create_engine_for(url)
        # A slow fsync widens the window in which an early acknowledgement would show.
        event.listen(engine, "commit", lambda conn: time.sleep(0.005))
        writer = LedgerWriter(engine)
        await writer.start()

        async def put(n):
            await writer.run(
                lambda c: c.execute(
                    host_events.insert().values(at=AT, kind="durable", detail=str(n))
                )
            )
            print(n, flush=True)

        n = 0
        while True:
            await asyncio.gather(*(put(i) for i in range(n, n + 25)))
            n += 25

    asyncio.run(main(sys.argv[1]))
    """
)


def test_acknowledged_writes_survive_sigkill(ledger_url: str, engine: Engine) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, ledger_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    acknowledged: list[str] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) >= 300:
                break
        # Killed mid-stream: more writes are in flight, some in an uncommitted group.
        os.kill(child.pid, signal.SIGKILL)
        rest, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    acknowledged += rest.split()
    assert child.returncode == -signal.SIGKILL, err
    assert len(acknowledged) >= 300, err
    stored = event_details(engine, kind="durable")
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged writes lost: {sorted(missing)[:10]}"

"""Fixtures for the ledger tests: a migrated ledger, its engine, a vault and a fixed clock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Connection, Engine

from possettle.clock import FixedClock
from possettle.crypto.vault import Vault
from possettle.host.registry import add_merchant, add_terminal
from possettle.ledger.engine import create_engine_for
from possettle.ledger.migrate import init_db
from possettle.ledger.writer import LedgerWriter

T0 = datetime(2026, 11, 26, 8, 30, 15, tzinfo=UTC)
MID = "898310048990001"
TID = "12345678"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def vault() -> Vault:
    return Vault(bytes(range(32)))


@pytest.fixture
def ledger_url(db_url: str) -> str:
    """``db_url`` with the schema created."""
    init_db(db_url)
    return db_url


@pytest.fixture
def engine(ledger_url: str) -> Iterator[Engine]:
    eng = create_engine_for(ledger_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def seeded(engine: Engine, vault: Vault) -> Engine:
    """``engine`` with merchant ``MID`` and its terminal ``TID`` registered."""
    with engine.begin() as conn:
        add_merchant(conn, MID, "Test Shop", at=T0)
        add_terminal(conn, vault, TID, MID, at=T0)
    return engine


class Gate:
    """A writer op that holds the writer thread until released, so tests can line up a group.

    While the gate op runs, everything queued after it waits for the next group.
    """

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def op(self, conn: Connection) -> str:
        self.entered.set()
        if not self.release.wait(timeout=30):
            raise TimeoutError("gate was never released")
        return "gate"

    async def hold(self, writer: LedgerWriter) -> asyncio.Task[str]:
        task = asyncio.create_task(writer.run(self.op))
        await asyncio.to_thread(self.entered.wait, 30)
        return task


async def wait_queued(writer: LedgerWriter, n: int) -> None:
    """Wait until ``n`` ops sit in the writer's queue (tasks have reached ``run``)."""
    for _ in range(1000):
        if writer.queued >= n:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"only {writer.queued} of {n} ops were queued")

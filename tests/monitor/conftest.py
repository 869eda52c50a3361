"""A migrated ledger and a :class:`Fleet` that writes the rows the monitor reads, directly.

The monitor only reads the ledger, so the tests build exactly the situation a rule is about
(a silent region, refused settlements, stuck reversals) with plain inserts instead of running
a whole business day.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from possettle.clock import FixedClock
from possettle.crypto.vault import Vault
from possettle.host.registry import add_merchant, add_terminal
from possettle.ledger.engine import create_engine_for
from possettle.ledger.migrate import init_db
from possettle.ledger.schema import (
    batches,
    ledger_entries,
    requests,
    terminal_reports,
    terminals,
)
from tests.tools import missing_tool

T0 = datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)
MID = "898310048990001"


class Fleet:
    """Writes terminals, requests, batches and reports as the host would have."""

    def __init__(self, engine: Engine, clock: FixedClock) -> None:
        self.engine = engine
        self.clock = clock
        self.vault = Vault(bytes(range(32)))
        self._stan = count(1)
        with engine.begin() as conn:
            add_merchant(conn, MID, "Test Shop", at=T0)

    def terminals(
        self, region: str, n: int, *, prefix: str, model: str = "P2000", version: str = "010203"
    ) -> list[str]:
        tids = [f"{prefix}{i:04d}" for i in range(n)]
        with self.engine.begin() as conn:
            for tid in tids:
                add_terminal(conn, self.vault, tid, MID, region=region, model=model, at=T0)
                conn.execute(
                    sa.update(terminals)
                    .where(terminals.c.tid == tid)
                    # in service: signed on (a signed-off terminal is closed for the day)
                    .values(software_version=version, last_seen_at=self.clock.now(), signed_on=True)
                )
        return tids

    def seen(self, tids: list[str] | None = None, at: datetime | None = None) -> None:
        """Mark ``tids`` (every terminal if None) as heard from at ``at`` (now)."""
        stmt = sa.update(terminals).values(last_seen_at=at or self.clock.now())
        if tids is not None:
            stmt = stmt.where(terminals.c.tid.in_(tids))
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def request(self, tid: str, mti: str, code: str, n: int = 1) -> None:
        with self.engine.begin() as conn:
            for _ in range(n):
                conn.execute(
                    sa.insert(requests).values(
                        tid=tid, batch=1, stan=f"{next(self._stan):06d}", mti=mti,
                        digest="0" * 64, response_code=code, reply="{}",
                        created_at=self.clock.now(),
                    )
                )  # fmt: skip

    def report(self, tid: str, data: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(terminal_reports).where(terminal_reports.c.tid == tid))
            conn.execute(
                sa.insert(terminal_reports).values(
                    tid=tid, received_at=self.clock.now(), report=json.dumps(data)
                )
            )

    def batch(
        self, tid: str, number: int, *, status: str, results: tuple[int, int] | None = None,
        entry_at: datetime | None = None,
    ) -> None:  # fmt: skip
        now = self.clock.now()
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(batches).values(
                    tid=tid, batch=number, mid=MID, status=status, opened_at=now,
                    settle_requested_at=None if status == "open" else now,
                    closed_at=now if status == "closed" else None,
                    result_domestic=results[0] if results else None,
                    result_foreign=results[1] if results else None,
                )
            )  # fmt: skip
            if entry_at is not None:
                conn.execute(
                    sa.insert(ledger_entries).values(
                        tid=tid, mid=MID, batch=number, stan=f"{next(self._stan):06d}",
                        kind="sale", amount=100, currency="156", domestic=True,
                        debit_amount=100, debit_count=1, credit_amount=0, credit_count=0,
                        pan_hash="0" * 64, pan_masked="622202******1234", rrn="000000000001",
                        card_org="CUP", host_date=entry_at.date(), created_at=entry_at,
                        clearing_date=entry_at.date(),
                    )
                )  # fmt: skip

    def settled(self, tid: str, number: int = 1) -> None:
        """``tid`` settled batch ``number`` now (closed, balanced) and is on the next one."""
        self.batch(tid, number, status="closed", results=(1, 1))
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(terminals)
                .where(terminals.c.tid == tid)
                .values(current_batch=number + 1, last_seen_at=self.clock.now())
            )

    def signed_off(self, tids: list[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(terminals)
                .where(terminals.c.tid.in_(tids))
                .values(signed_on=False, last_seen_at=self.clock.now())
            )

    def later(self, minutes: float) -> None:
        self.clock.advance(minutes * 60)

    def ago(self, minutes: float) -> datetime:
        return self.clock.now() - timedelta(minutes=minutes)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def ledger_url(db_url: str) -> str:
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
def fleet(engine: Engine, clock: FixedClock) -> Fleet:
    return Fleet(engine, clock)


@pytest.fixture
def promtool() -> str:
    """Prometheus's own rule checker (Debian package prometheus; scripts/dev.py installs it)."""
    found = shutil.which("promtool")
    if found is None:
        missing_tool(
            "promtool is not on PATH (Debian: apt-get install prometheus); the rules file is "
            "still checked against the rule table and the engine's own tests still run"
        )
    return found

"""A simulated business day's ledger, console users on it, and logged-in test clients.

The day is run once per test session (it takes a few seconds) and each test gets its own copy
of the ledger file, so actions in one test cannot leak into another.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from possettle.clock import FixedClock
from possettle.console.app import create_app
from possettle.console.auth import add_user
from possettle.ledger.engine import create_engine_for
from possettle.ledger.kinds import ConsoleRole
from possettle.ledger.schema import terminals
from possettle.sim.day import run_day

PASSWORD = "correct horse 1"
ROLES = ("viewer", "operator", "admin")


@pytest.fixture(scope="session")
def day_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("day")
    asyncio.run(run_day(terminals=3, per_terminal=8, seed=3, workdir=work))
    return work / "host.db"


@dataclass
class Console:
    client: httpx.AsyncClient
    engine: sa.Engine
    clock: FixedClock
    app: FastAPI

    async def login(self, username: str, password: str = PASSWORD) -> int:
        page = await self.client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        done = await self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token.group(1)},
        )
        return done.status_code

    async def csrf(self, path: str = "/") -> str:
        page = await self.client.get(path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)


@pytest.fixture
async def console(day_db: Path, tmp_path: Path) -> AsyncIterator[Console]:
    copy = tmp_path / "host.db"
    shutil.copy(day_db, copy)
    engine = create_engine_for(f"sqlite:///{copy}")
    with engine.connect() as conn:
        seen = conn.execute(sa.select(sa.func.max(terminals.c.last_seen_at))).scalar_one()
    clock = FixedClock(seen + timedelta(minutes=1))
    for role in ROLES:
        add_user(engine, role, PASSWORD, ConsoleRole(role), clock.now())
    app = create_app(engine, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Console(client, engine, clock, app)
    engine.dispose()

"""Every page and API answer on each ledger backend, from an empty ledger to a registered fleet."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from possettle.clock import FixedClock
from possettle.console.app import create_app
from possettle.console.auth import add_user
from possettle.ledger.engine import create_engine_for
from possettle.ledger.kinds import ConsoleRole
from possettle.ledger.migrate import init_db
from possettle.ledger.schema import merchants, terminals

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PATHS = [
    "/", "/settlements", "/transactions", "/alerts", "/users", "/terminals/T0000001",
    "/api/fleet", "/api/settlements", "/api/transactions?last4=1234", "/api/alerts",
    "/api/terminals/T0000001", "/support", "/api/support/tickets", "/api/support/acquirers",
]  # fmt: skip


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    init_db(db_url)
    engine = create_engine_for(db_url)
    add_user(engine, "root", "pass-word-1", ConsoleRole.ADMIN, T0)
    with engine.begin() as conn:
        conn.execute(sa.insert(merchants).values(mid="898100012340009", name="shop", created_at=T0))
        conn.execute(
            sa.insert(terminals).values(
                tid="T0000001", mid="898100012340009", region="north", model="P1",
                tmk_sealed=b"x", tmk_kcv="000000", created_at=T0,
            )
        )  # fmt: skip
    app = create_app(db_url, clock=FixedClock(T0))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        page = await c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        done = await c.post(
            "/login",
            data={"username": "root", "password": "pass-word-1", "csrf_token": token.group(1)},
        )
        assert done.status_code == 303
        yield c
    engine.dispose()


async def test_every_page_answers_on_a_fleet_without_traffic(client: httpx.AsyncClient) -> None:
    for path in PATHS:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
    fleet = (await client.get("/api/fleet")).json()
    [only] = fleet["terminals"]
    assert only["liveness"] == "not_reporting" and only["last_settlement"] is None

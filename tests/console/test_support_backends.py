"""The Support desk's tickets on each ledger backend (SQLite, and PostgreSQL when
``POSSETTLE_TEST_PG`` is set): a case on one of our terminals, answered, a photo, closed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from possettle.clock import FixedClock
from possettle.console.app import create_app
from possettle.console.auth import add_user
from possettle.ledger.engine import create_engine_for
from possettle.ledger.kinds import ConsoleRole
from possettle.ledger.migrate import init_db
from possettle.ledger.schema import merchants, terminals
from tests.console.audit_check import audited
from tests.console.support_fake import FakeEngine, fake_desk, photo

T0 = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, sa.Engine, FakeEngine]]:
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
    fake = FakeEngine()
    app = create_app(db_url, clock=FixedClock(T0), desk=fake_desk(fake))
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
        yield c, engine, fake
    engine.dispose()


async def test_a_ticket_lives_its_whole_life_on_each_backend(
    client: tuple[httpx.AsyncClient, sa.Engine, FakeEngine], db_url: str
) -> None:
    c, engine, fake = client
    found = re.search(r'name="csrf_token" value="([^"]+)"', (await c.get("/support")).text)
    assert found
    headers = {"X-CSRF-Token": found.group(1)}
    assert (await c.get("/api/support/tickets")).json() == {"tickets": []}
    made = await c.post("/api/support/tickets", headers=headers,
                        json={"tid": "T0000001", "screen": "冲正不成功"})  # fmt: skip
    assert made.status_code == 201, made.text
    ticket = made.json()
    assert ticket["ours"] is True and fake.cases[-1].tid == "T0000001"
    given = fake.cases[-1].host_db
    assert given is not None and make_url(given).database == make_url(db_url).database
    path = f"/api/support/tickets/{ticket['id']}"
    answer = {"question": "slip_printed", "answer": "no"}
    assert (await c.post(f"{path}/answers", headers=headers, json=answer)).status_code == 200
    files = {"photo": ("s.png", photo("请与客服联系"), "image/png")}
    assert (await c.post(f"{path}/photo", headers=headers, files=files)).status_code == 200
    closed = (await c.post(f"{path}/close", headers=headers)).json()
    assert closed["status"] == "closed" and closed["answers"] == {"slip_printed": "no"}
    assert [s["event"] for s in closed["steps"]] == ["create", "answer", "photo"]
    assert closed["created_at"] == T0.isoformat() and closed["photo"]["text"] == "请与客服联系"
    listed = (await c.get("/api/support/tickets?tid=T0000001&status=closed")).json()["tickets"]
    assert [x["id"] for x in listed] == [ticket["id"]]
    for page in ("/support", f"/support/{ticket['id']}", "/terminals/T0000001"):
        assert (await c.get(page)).status_code == 200
    actions = ["support.create", "support.answer", "support.photo", "support.close"]
    for action in actions:
        assert len(audited(engine, action, f"ticket:{ticket['id']}")) == 1

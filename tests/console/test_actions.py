"""Terminal actions: roles, CSRF, their effect on the ledger, and their audit records."""

from __future__ import annotations

import sqlalchemy as sa

from possettle.ledger.schema import terminals
from tests.console.audit_check import audited
from tests.console.conftest import Console


def _terminal(console: Console, tid: str) -> sa.Row[tuple[str, bool]]:
    with console.engine.connect() as conn:
        return conn.execute(
            sa.select(terminals.c.status, terminals.c.needs_signon).where(terminals.c.tid == tid)
        ).one()


async def test_a_viewer_cannot_act_even_with_a_valid_token(console: Console) -> None:
    await console.login("viewer")
    token = await console.csrf("/")
    done = await console.client.post(
        "/terminals/DEMO0001/actions/signon", data={"csrf_token": token}
    )
    assert done.status_code == 403
    assert _terminal(console, "DEMO0001").needs_signon is False
    assert audited(console.engine, "terminal.signon", "DEMO0001") == []


async def test_an_operator_asks_a_terminal_to_sign_on_again(console: Console) -> None:
    await console.login("operator")
    token = await console.csrf("/terminals/DEMO0001")
    done = await console.client.post(
        "/terminals/DEMO0001/actions/signon", data={"csrf_token": token}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/terminals/DEMO0001?done=signon"
    assert _terminal(console, "DEMO0001").needs_signon is True
    [record] = audited(console.engine, "terminal.signon", "DEMO0001")
    assert record["actor"] == "operator"
    assert record["at"] == console.clock.now()


async def test_disable_then_enable_a_terminal(console: Console) -> None:
    await console.login("operator")
    token = await console.csrf("/")
    await console.client.post("/terminals/DEMO0002/actions/disable", data={"csrf_token": token})
    assert _terminal(console, "DEMO0002").status == "disabled"
    page = await console.client.get("/?status=disabled")
    assert "/terminals/DEMO0002" in page.text
    await console.client.post("/terminals/DEMO0002/actions/enable", data={"csrf_token": token})
    assert _terminal(console, "DEMO0002").status == "active"
    assert len(audited(console.engine, "terminal.disable", "DEMO0002")) == 1
    assert len(audited(console.engine, "terminal.enable", "DEMO0002")) == 1


async def test_an_action_without_or_with_a_wrong_csrf_token_is_refused(console: Console) -> None:
    await console.login("admin")
    for data in ({}, {"csrf_token": "not-the-token"}):
        done = await console.client.post("/terminals/DEMO0001/actions/disable", data=data)
        assert done.status_code == 403
    api = await console.client.post(
        "/api/terminals/DEMO0001/actions/disable", headers={"x-csrf-token": "forged"}
    )
    assert api.status_code == 403
    assert _terminal(console, "DEMO0001").status == "active"
    assert audited(console.engine, "terminal.disable", "DEMO0001") == []


async def test_a_fresh_doctor_report_through_the_api_is_returned_and_audited(
    console: Console,
) -> None:
    await console.login("operator")
    token = await console.csrf("/")
    done = await console.client.post(
        "/api/terminals/DEMO0000/actions/doctor", headers={"x-csrf-token": token}
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["by"] == "operator"
    assert body["report"]["terminal"] == "DEMO0000"
    assert "diagnoses" in body["report"]
    assert len(audited(console.engine, "terminal.doctor", "DEMO0000")) == 1


async def test_an_action_on_an_unknown_terminal_is_a_409(console: Console) -> None:
    await console.login("operator")
    token = await console.csrf("/")
    done = await console.client.post(
        "/api/terminals/NOSUCH01/actions/signon", headers={"x-csrf-token": token}
    )
    assert done.status_code == 409

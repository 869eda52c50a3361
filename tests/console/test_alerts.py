"""Alerts: an operator acknowledges with a note (stored and audited) and resolves."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from possettle.ledger.schema import alerts
from tests.console.audit_check import audited
from tests.console.conftest import Console


def _alert(console: Console) -> int:
    now = console.clock.now()
    with console.engine.begin() as conn:
        new_id = conn.execute(
            sa.insert(alerts)
            .values(
                rule="region_dark", cause="region.outage", severity="critical",
                incident_key="region=demo", status="open",
                summary_en="3 terminals in demo went dark", summary_zh="demo 地区 3 台终端失联",
                terminals=json.dumps(["DEMO0000", "DEMO0001", "DEMO0002"]),
                first_at=now - timedelta(minutes=5), last_at=now,
            )
            .returning(alerts.c.id)
        ).scalar_one()  # fmt: skip
    return int(new_id)


async def test_the_alerts_page_shows_an_open_alert_with_its_terminals(console: Console) -> None:
    alert_id = _alert(console)
    await console.login("viewer")
    page = await console.client.get("/alerts")
    assert f'id="alert-{alert_id}"' in page.text
    assert "region.outage" in page.text and "/terminals/DEMO0001" in page.text
    assert "critical" in page.text
    zh = await console.client.get("/alerts?lang=zh")
    assert "demo 地区 3 台终端失联" in zh.text
    api = (await console.client.get("/api/alerts")).json()
    assert [a["id"] for a in api["open"]] == [alert_id]


async def test_acknowledging_stores_who_when_and_the_note_and_is_audited(
    console: Console,
) -> None:
    alert_id = _alert(console)
    await console.login("operator")
    token = await console.csrf("/alerts")
    done = await console.client.post(
        f"/alerts/{alert_id}/ack", data={"csrf_token": token, "note": "carrier notified"}
    )
    assert done.status_code == 303
    with console.engine.connect() as conn:
        row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).one()
    assert (row.status, row.ack_by) == ("acknowledged", "operator")
    assert row.ack_note == "carrier notified"
    assert row.ack_at == console.clock.now()
    [record] = audited(console.engine, "alert.acknowledge", f"alert:{alert_id}")
    assert record["actor"] == "operator"
    assert "carrier notified" in json.dumps(record["detail"])
    page = await console.client.get("/alerts")
    assert "carrier notified" in page.text


async def test_a_viewer_cannot_acknowledge(console: Console) -> None:
    alert_id = _alert(console)
    await console.login("viewer")
    token = await console.csrf("/alerts")
    done = await console.client.post(f"/alerts/{alert_id}/ack", data={"csrf_token": token})
    assert done.status_code == 403


async def test_resolving_moves_the_alert_to_the_past(console: Console) -> None:
    alert_id = _alert(console)
    await console.login("operator")
    token = await console.csrf("/alerts")
    done = await console.client.post(
        f"/api/alerts/{alert_id}/resolve", headers={"x-csrf-token": token}
    )
    assert done.status_code == 200, done.text
    api = (await console.client.get("/api/alerts")).json()
    assert api["open"] == [] and [a["id"] for a in api["past"]] == [alert_id]
    again = await console.client.post(
        f"/api/alerts/{alert_id}/resolve", headers={"x-csrf-token": token}
    )
    assert again.status_code == 409
    assert len(audited(console.engine, "alert.resolve", f"alert:{alert_id}")) == 1

"""Following a failed settlement from the settlements page to its terminal and its diagnosis."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from possettle.ledger.schema import batches, terminal_reports
from tests.console.conftest import Console


def _fail_settlement(console: Console, tid: str) -> int:
    """The terminal tried to settle its open batch and reported the doctor's finding (0820)."""
    now = console.clock.now()
    with console.engine.begin() as conn:
        batch = conn.execute(
            sa.select(batches.c.batch).where(batches.c.tid == tid, batches.c.status == "open")
        ).scalar_one()
        conn.execute(
            sa.update(batches)
            .where(batches.c.tid == tid, batches.c.batch == batch)
            .values(status="settling", settle_requested_at=now)
        )
        report = {"ok": False, "batch": batch, "causes": [["network.unstable", 0.81, "settle"]],
                  "checks": {"network": "fail"}}  # fmt: skip
        conn.execute(sa.delete(terminal_reports).where(terminal_reports.c.tid == tid))
        conn.execute(
            sa.insert(terminal_reports).values(tid=tid, received_at=now, report=json.dumps(report))
        )
    return int(batch)


async def test_a_failed_settlement_leads_to_its_diagnosis(console: Console) -> None:
    batch = _fail_settlement(console, "DEMO0001")
    await console.login("viewer")
    page = await console.client.get("/settlements?result=failed")
    assert page.status_code == 200
    rows = re.findall(r'<a href="(/terminals/DEMO0001)#diagnosis">network.unstable</a>', page.text)
    assert rows, page.text
    terminal = await console.client.get(rows[0])
    assert terminal.status_code == 200
    text = terminal.text
    assert 'id="diagnosis"' in text
    assert "network.unstable" in text and "settle" in text
    assert "Check the router or the SIM signal." in text  # the catalog's remedy
    zh = await console.client.get(rows[0] + "?lang=zh")
    assert "检查路由器或 SIM 卡信号。" in zh.text
    api = (await console.client.get("/api/settlements?result=failed")).json()
    [failed] = api["settlements"]
    assert (failed["tid"], failed["batch"], failed["step"], failed["cause"], failed["group"]) == (
        "DEMO0001", batch, "settle", "network.unstable", "software",
    )  # fmt: skip
    # and the simulated day's power cut mid-settlement, recovered by sending it again
    assert api["failures_by_cause"] == {"network.unstable": 1, "unknown": 1}
    assert api["by_terminal"] == [
        {"tid": "DEMO0001", "total": 1, "failed": 1, "last_cause": "network.unstable"}
    ]


async def test_the_day_shows_balanced_and_balanced_after_upload(console: Console) -> None:
    await console.login("viewer")
    api = (await console.client.get("/api/settlements")).json()
    outcome = {s["tid"]: s["result"] for s in api["settlements"]}
    assert "balanced_after_upload" in outcome.values()
    assert "balanced" in outcome.values()
    # one terminal lost power mid-settlement and sent its settlement again: recovered
    assert [s["result"] for s in api["settlements"]].count("recovered") == 1
    [day] = api["success_rate"]
    assert (day["tried"], day["ok"], day["recovered"]) == (3, 2, 1)

"""The business day behind ``possettle demo``: real terminals, a real host process, faults."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import batches
from possettle.sim.day import CUP_PANS, FOREIGN_PANS, run_day


async def test_a_faulty_business_day_loses_and_doubles_nothing(tmp_path: Path) -> None:
    result = await run_day(terminals=4, per_terminal=12, seed=3, workdir=tmp_path)
    assert result.lost == 0
    assert result.duplicated == 0
    assert result.host_restarts == 1
    outcomes = {t.tid: t.result for t in result.terminals}
    assert outcomes["DEMO0003"] == "balanced after upload", outcomes
    assert outcomes["DEMO0001"].startswith("failed then recovered"), outcomes
    events = [e for t in result.terminals for e in t.events]
    assert any("approved offline" in e for e in events)
    assert any("connection dropped mid-sale" in e for e in events)
    assert any("slip printed" in e for e in events)
    # the sale the host lost is a reconciliation exception, not dropped
    assert result.recon_exceptions >= 1
    engine = create_engine_for(f"sqlite:///{tmp_path / 'host.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(batches.c.tid, batches.c.batch, batches.c.status)).all()
    finally:
        engine.dispose()
    status = {(r.tid, r.batch): r.status for r in rows}
    assert all(status[(t.tid, t.batch)] == "closed" for t in result.terminals), status


def _files(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


async def test_no_file_of_the_day_holds_a_clear_pan(tmp_path: Path) -> None:
    await run_day(terminals=2, per_terminal=10, seed=5, workdir=tmp_path)
    raw = _files(tmp_path)
    assert raw
    for pan in CUP_PANS + FOREIGN_PANS:
        assert pan.encode() not in raw
        assert pan[:12].encode() not in raw  # masks show 6 + 4 at most
        assert bytes.fromhex(pan.ljust(20, "0")) not in raw  # nor as BCD


def test_demo_json_reports_terminals_settlements_lost_and_duplicated(tmp_path: Path) -> None:
    run = CliRunner().invoke(
        app,
        ["demo", "--terminals", "3", "--transactions", "8", "--json", "--workdir", str(tmp_path)],
    )
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["terminals"] == 3
    assert data["transactions"] > 0
    assert data["lost"] == 0 and data["duplicated"] == 0
    assert {s["tid"] for s in data["settlements"]} == {"DEMO0000", "DEMO0001", "DEMO0002"}
    assert all({"tid", "batch", "result"} <= set(s) for s in data["settlements"])

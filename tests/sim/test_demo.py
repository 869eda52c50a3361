"""The host-side business day behind ``possettle demo``: money checked, no card data stored."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.sim.hostday import CUP_PANS, FOREIGN_PANS, run_day


async def test_a_business_day_loses_and_doubles_nothing(tmp_path: Path) -> None:
    result = await run_day(terminals=4, per_terminal=20, seed=3, workdir=tmp_path)
    assert result.lost == 0
    assert result.duplicated == 0
    outcomes = [t.result for t in result.terminals]
    assert "balanced after upload" in outcomes
    assert all(r in ("balanced", "balanced after upload") for r in outcomes), outcomes
    # the offline sale the host never got is a reconciliation exception, not dropped
    assert result.exceptions >= 1
    assert any("reversal answered" in e for t in result.terminals for e in t.events)


def read_ledger_files(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("host.db"))


async def test_the_ledger_files_hold_no_clear_pan(tmp_path: Path) -> None:
    await run_day(terminals=2, per_terminal=15, seed=5, workdir=tmp_path)
    raw = read_ledger_files(tmp_path)
    assert raw
    for pan in CUP_PANS + FOREIGN_PANS:
        assert pan.encode() not in raw
        assert bytes.fromhex(pan.ljust(20, "0")) not in raw  # nor as BCD


def test_demo_json_reports_terminals_settlements_lost_and_duplicated(tmp_path: Path) -> None:
    import json

    run = CliRunner().invoke(
        app,
        ["demo", "--terminals", "3", "--transactions", "10", "--json", "--workdir", str(tmp_path)],
    )
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["terminals"] == 3
    assert data["lost"] == 0 and data["duplicated"] == 0
    assert {s["tid"] for s in data["settlements"]} == {"DEMO0000", "DEMO0001", "DEMO0002"}

"""The terminal-side fault knobs of ``possettle fault``: each fault shows, and heals."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.terminal.config import TerminalConfig
from possettle.terminal.journal.events import EventKind, FaultInjected
from tests.host.harness import register, running_host
from tests.terminal.faults import host_view
from tests.terminal.harness import CUP_PAN, make_terminal, open_pos


def fault(*args: str) -> dict[str, object]:
    run = CliRunner().invoke(app, ["fault", *args, "--json"])
    assert run.exit_code == 0, run.output
    return json.loads(run.stdout)  # type: ignore[no-any-return]


async def signed_on_terminal(tmp_path: Path, port: int) -> Path:
    term = make_terminal(tmp_path / "t", port)
    pos = open_pos(term)
    try:
        await pos.sign_on()
    finally:
        await pos.close()
    return term


async def test_stale_keys_get_a0_then_a_fresh_sign_on_heals(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = await signed_on_terminal(tmp_path, host.port)
        assert fault("stale-keys", "--dir", str(term))["fault"] == "stale-keys"
        pos = open_pos(term)
        try:
            first = await pos.sale(CUP_PAN, 1200, expiry="3012")
            assert not first.approved and first.code == "A0"
            again = await pos.sale(CUP_PAN, 1300, expiry="3012")  # signs on again first
            assert again.approved
            assert (await pos.settle()).ok
            assert [e.detail for e in pos.journal.events(EventKind.FAULT_INJECTED)] == [
                FaultInjected(fault="stale-keys")
            ]
        finally:
            await pos.close()
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []


async def test_a_batch_number_that_jumped_is_taken_back_from_the_host(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = await signed_on_terminal(tmp_path, host.port)
        fault("batch", "--dir", str(term), "--set", "42")
        pos = open_pos(term)
        try:
            assert pos.status()["batch"] == 42
            [injected] = pos.journal.events(EventKind.FAULT_INJECTED)  # deliberate, journaled
            assert injected.detail.model_dump() == {
                "code": "",
                "fault": "batch",
                "from": 1,
                "to": 42,
            }
            report = await pos.settle()
            # the host answers 77; batch 42 is empty and was never opened there, so the
            # sign-on takes the host's batch 1 back and the settlement goes on with it
            assert report.ok and report.batch == 1, report.as_dict()
            assert "batch 42 was empty" in report.notes[0]
            assert pos.status()["batch"] == 2
        finally:
            await pos.close()


def test_clock_skew_is_a_setting_of_the_terminal(tmp_path: Path) -> None:
    term = make_terminal(tmp_path / "t", 1)
    fault("clock-skew", "--dir", str(term), "--seconds", "-3600")
    assert TerminalConfig.load(term).clock_skew_seconds == -3600
    fault("clock-skew", "--dir", str(term), "--seconds", "0")
    assert TerminalConfig.load(term).clock_skew_seconds == 0

"""A software crash and a power cut leave different traces, and both resume exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from possettle.terminal.crashpoints import EXIT_STATUS, MODE_ENV
from tests.host.harness import register, running_host
from tests.terminal.faults import cli, host_view
from tests.terminal.harness import CUP_PAN, make_terminal, open_pos

SALE = ("sale", "--amount", "3.00", "--pan", CUP_PAN, "--expiry", "3012")


@pytest.mark.parametrize(("mode", "exit_code", "crash_event"), [
    ("power", EXIT_STATUS, False),
    ("exception", 70, True),
])  # fmt: skip
async def test_power_cut_and_software_crash_are_told_apart(
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    exit_code: int,
    crash_event: bool,
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        assert (await cli(term, "signon")).code == 0
        monkeypatch.setenv(MODE_ENV, mode)
        run = await cli(term, *SALE, crash_at="send.sale.after")
        monkeypatch.delenv(MODE_ENV)
        assert run.code == exit_code, run.stdout + run.stderr
        pos = open_pos(term)
        try:
            assert pos.journal.unclean
            crashes = pos.journal.events("software_crash")
            assert bool(crashes) is crash_event
            if crash_event:
                assert crashes[0]["detail"] == {"type": "InjectedCrash", "point": "send.sale.after"}
            assert (await pos.settle()).ok
        finally:
            await pos.close()
        view = host_view(sqlite_url, [term])
        assert view.lost == [] and view.duplicated == []

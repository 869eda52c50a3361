"""A software crash and a power cut leave different traces, and both resume exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from possettle.clock import FixedClock
from possettle.terminal.crashpoints import EXIT_STATUS, MODE_ENV
from possettle.terminal.errors import SoftwareCrash
from possettle.terminal.journal.events import EventKind, SoftwareCrashed
from possettle.terminal.pos import Pos
from tests.host.harness import register, running_host
from tests.terminal.faults import cli, host_view
from tests.terminal.harness import CUP_PAN, DAYTIME, make_terminal, open_pos

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
            crashes = pos.journal.events(EventKind.SOFTWARE_CRASH)
            assert bool(crashes) is crash_event
            if crash_event:
                expected = SoftwareCrashed(type="InjectedCrash", point="send.sale.after")
                assert crashes[0].detail == expected
            assert (await pos.settle()).ok
        finally:
            await pos.close()
        view = host_view(sqlite_url, [term])
        assert view.lost == [] and view.duplicated == []


async def test_a_library_users_crash_is_journaled_as_software_not_left_as_a_power_cut(
    tmp_path: Path, sqlite_url: str
) -> None:
    """Not only the CLI: any program running the terminal core through ``Pos.session`` (an
    emulator, a merchant's app) gets its unexpected exception journaled as a software crash."""
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        async with Pos.session(term, clock=FixedClock(DAYTIME)) as pos:
            assert (await pos.sign_on()).code == "00"
        with pytest.raises(SoftwareCrash) as info:
            async with Pos.session(term, clock=FixedClock(DAYTIME)) as pos:
                raise ValueError("a bug in the merchant's app, 6222021234567890128")
        assert isinstance(info.value.__cause__, ValueError)
        pos = open_pos(term)
        try:
            assert pos.journal.unclean  # the next start resumes as after any crash
            crashes = pos.journal.events(EventKind.SOFTWARE_CRASH)
            assert [c.detail for c in crashes] == [SoftwareCrashed(type="ValueError", point="")]
            assert (await pos.sale(CUP_PAN, 300, expiry="3012")).approved
        finally:
            await pos.close()
        # A clean session leaves no open marker and no crash record behind.
        async with Pos.session(term, clock=FixedClock(DAYTIME)) as pos:
            assert not pos.journal.unclean
        pos = open_pos(term)
        try:
            assert len(pos.journal.events(EventKind.SOFTWARE_CRASH)) == 1
        finally:
            await pos.close()

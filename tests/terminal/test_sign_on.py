"""Sign-on failures the merchant must see as such, and that leave the terminal signed off.

* the working keys fail their check values (the terminal's TMK is not the host's): the terminal
  keeps no keys it cannot trust, journals ``key_check_failed`` and sends no money message;
* the host's minimum software version is above the terminal's: ``58`` with ``MINVER=``, which
  the terminal journals for the doctor (``software.outdated``).
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from possettle.crypto.keys import check_value_text, generate_key
from possettle.explain import explain
from possettle.terminal.config import TerminalConfig
from possettle.terminal.errors import HostRefused
from possettle.terminal.journal.events import EventKind, KeyCheckFailed, SignOnRefused
from tests.host.harness import TID, TMK, register
from tests.terminal.faults import host_view
from tests.terminal.harness import CUP_PAN, make_terminal, open_pos
from tests.terminal.scenario import host_on_day, ledger, rekey_at_host


async def test_a_terminal_whose_tmk_is_not_the_hosts_stays_signed_off(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    other = generate_key(16)
    await register(sqlite_url, key_file, {TID: other.hex()})
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)  # loaded with the test TMK, not `other`
        pos = open_pos(term)
        try:
            with pytest.raises(HostRefused) as info:
                await pos.sign_on()
            assert info.value.code == "keys"
            said = explain(info.value)
            assert said.en.startswith(
                "the master key (TMK) does not match the host's: reload it (TMK check value "
                f"here {check_value_text(TMK)}; the host's PIK check value "
            ), said.en
            assert said.zh.startswith("终端主密钥（TMK）与主机的不一致：请重新灌装主密钥")
            # both check values of the working key: what field 62 says, what this TMK gives
            values = re.findall(r"\b[0-9A-F]{8}\b", said.en)
            assert len(values) == 3 and values[1] != values[2], said.en
            assert re.findall(r"\b[0-9A-F]{8}\b", said.zh) == values
            status = pos.status()
            assert status["signed_on"] is False
            assert status["key_check_values"]["pik"] is None
            assert status["key_check_values"]["mak"] is None
            [event] = pos.journal.events(EventKind.KEY_CHECK_FAILED)
            assert isinstance(event.detail, KeyCheckFailed)
            assert "check" in event.detail.error

            # A sale signs on first, fails the same way, and sends nothing.
            with pytest.raises(HostRefused):
                await pos.sale(CUP_PAN, 100, expiry="3012")
            assert pos.status()["transactions"] == 0
            assert len(pos.journal.events(EventKind.KEY_CHECK_FAILED)) == 2
        finally:
            await pos.close()
    assert ledger(sqlite_url, TID) == []
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []


async def test_a_signed_on_terminal_whose_tmk_changed_at_the_host_is_signed_off(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            sale = await pos.sale(CUP_PAN, 100, expiry="3012")
            assert sale.approved

            rekey_at_host(sqlite_url, key_file, TID, generate_key(16))
            with pytest.raises(HostRefused) as info:
                await pos.sign_on()
            assert info.value.code == "keys"
            # The host now holds session keys the terminal could not read: its old ones are
            # dead, so it is signed off, and the next sale tries a sign-on, not a 0200.
            assert pos.status()["signed_on"] is False
            with pytest.raises(HostRefused) as info:
                await pos.sale(CUP_PAN, 200, expiry="3012")
            assert info.value.code == "keys"
            assert pos.status()["transactions"] == 1
        finally:
            await pos.close()
    assert [(int(e["stan"]), e["kind"]) for e in ledger(sqlite_url, TID)] == [(sale.stan, "sale")]
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []


async def host_policy(url: str, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "possettle.cli.main", "host", "policy", *args, "--db", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_a_terminal_below_the_hosts_minimum_version_is_refused_58_and_journals_it(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    await host_policy(sqlite_url, "--min-version", "1.2.0")
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port, version="010105")
        pos = open_pos(term)
        try:
            with pytest.raises(HostRefused) as info:
                await pos.sign_on()
            assert info.value.code == "58"
            assert "MINVER=010200" in str(info.value)
            said = explain(info.value)
            assert said.en == (
                "software 1.1.5 is below the acquirer's minimum 1.2.0: update the terminal software"
            )
            assert said.zh == "终端软件版本 1.1.5 低于收单机构要求的最低版本 1.2.0：请升级终端软件"
            assert pos.status()["signed_on"] is False
            [event] = pos.journal.events(EventKind.SIGN_ON_REFUSED)
            assert event.code == "58"
            assert isinstance(event.detail, SignOnRefused)
            assert event.detail.field63 == "MINVER=010200"
            assert event.detail.min_version == "010200"
        finally:
            await pos.close()

        # The software is updated: the same terminal signs on and sells.
        TerminalConfig.load(term).with_changes(version="010200").save(term)
        pos = open_pos(term)
        try:
            assert (await pos.sign_on()).code == "00"
            assert (await pos.sale(CUP_PAN, 100, expiry="3012")).approved
        finally:
            await pos.close()
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []
    assert view.terminal_approved == view.host_live == 1

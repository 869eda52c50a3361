"""``--tmk -`` and ``--pin -``: secrets read from standard input or a hidden prompt, never argv."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from possettle.cli import secrets
from possettle.cli.main import app
from possettle.errors import ConfigError
from tests.host.harness import register, running_host
from tests.terminal.harness import CUP_PAN, make_terminal

MID = "123456789012345"
TID = "12345678"
TMK = "CA5D92598DCA48CE8A4C76361A9269E9"
TMK_KCV = "43C6CCCB"  # the golden vectors' TMK: 4 bytes, as everywhere


def run(args: list[str], stdin: str) -> Result:
    return CliRunner().invoke(app, args, input=stdin)


def test_host_terminal_add_reads_the_tmk_from_standard_input(tmp_path: Path) -> None:
    db = str(tmp_path / "host.db")
    assert run(["host", "init", "--db", db], "").exit_code == 0
    assert (
        run(["host", "merchant", "add", "--db", db, "--mid", MID, "--name", "S"], "").exit_code == 0
    )
    args = ["host", "terminal", "add", "--db", db, "--tid", TID, "--mid", MID, "--tmk", "-"]
    result = run([*args, "--json"], TMK + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"tid": TID, "mid": MID, "tmk": TMK, "tmk_kcv": TMK_KCV}


def test_terminal_init_reads_the_tmk_from_standard_input(tmp_path: Path) -> None:
    args = ["terminal", "init", "--dir", str(tmp_path / "t"), "--tid", TID, "--mid", MID]
    result = run([*args, "--tmk", "-", "--json"], TMK + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tmk_check_value"].startswith(TMK_KCV)


def test_nothing_on_standard_input_is_a_clear_error(tmp_path: Path) -> None:
    args = ["terminal", "init", "--dir", str(tmp_path / "t"), "--tid", TID, "--mid", MID]
    result = run([*args, "--tmk", "-"], "")
    assert result.exit_code == 1
    assert "--tmk -: nothing was read from standard input or the prompt" in result.output
    assert not (tmp_path / "t").exists()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_on_standard_input_gets_a_hidden_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fake_getpass(prompt: str) -> str:
        asked.append(prompt)
        return "654321"

    monkeypatch.setattr(secrets.getpass, "getpass", fake_getpass)
    assert secrets.read_secret("--pin", "-", stdin=_Tty("never read\n")) == "654321"
    assert asked == ["--pin (hidden 输入不回显): "]
    monkeypatch.setattr(secrets.getpass, "getpass", lambda prompt: "  ")
    with pytest.raises(ConfigError):
        secrets.read_secret("--pin", "-", stdin=_Tty())


@pytest.mark.parametrize(("pin", "code"), [("123456", "00"), ("999999", "55")])
async def test_a_sale_takes_its_pin_from_standard_input(
    sqlite_url: str, tmp_path: Path, pin: str, code: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        sale = ["terminal", "sale", "--dir", str(term), "--amount", "12.00", "--pan", CUP_PAN]
        args = [*sale, "--expiry", "3012", "--pin", "-", "--json"]
        result = await asyncio.to_thread(run, args, pin + "\n")
    data = json.loads(result.output)
    assert data["code"] == code, result.output

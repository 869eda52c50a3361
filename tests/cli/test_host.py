"""``possettle host`` registry commands end to end on a SQLite ledger in a temp directory."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from possettle.cli.main import app

MID = "123456789012345"
TID = "12345678"
TMK = "CA5D92598DCA48CE8A4C76361A9269E9"
TMK_KCV = "43C6CCCB"  # the golden vectors' TMK: 4 bytes, as field 62 and the terminal show


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POSSETTLE_DB", "POSSETTLE_HOST_KEY", "POSSETTLE_HOST_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "host.db")


def host(db: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["host", *args, "--db", db])


@pytest.fixture
def ledger(db: str) -> str:
    """A ledger with one merchant."""
    assert host(db, "init").exit_code == 0
    assert host(db, "merchant", "add", "--mid", MID, "--name", "Demo shop").exit_code == 0
    return db


def test_init_creates_the_ledger_and_key_and_is_safe_to_run_twice(db: str) -> None:
    first = host(db, "init", "--json")
    assert first.exit_code == 0, first.output
    again = host(db, "init", "--json")
    assert again.exit_code == 0, again.output
    a, b = json.loads(first.output), json.loads(again.output)
    assert a == b
    assert a["vault_key"] == db + ".key"
    assert Path(db).exists()
    assert Path(db + ".key").exists()


def test_merchant_add_then_list(ledger: str) -> None:
    result = host(ledger, "merchant", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"mid": MID, "name": "Demo shop", "address": None, "status": "active", "terminals": 0}
    ]


def test_merchant_add_prints_one_confirmation_line(db: str) -> None:
    host(db, "init")
    result = host(db, "merchant", "add", "--mid", MID, "--name", "Demo shop")
    assert result.exit_code == 0
    assert result.output == f"merchant {MID} (Demo shop) registered\n"


def test_terminal_add_prints_the_tmk_once_with_its_check_value(ledger: str) -> None:
    result = host(ledger, "terminal", "add", "--tid", TID, "--mid", MID, "--tmk", TMK)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"terminal {TID} registered to merchant {MID}\n"
        f"TMK {TMK}  check value {TMK_KCV}\n"
        "store it now, it is not shown again\n"
    )
    listed = host(ledger, "terminal", "list")
    assert TMK not in listed.output


def test_terminal_add_generates_a_tmk_when_none_is_given(ledger: str) -> None:
    result = host(ledger, "terminal", "add", "--tid", TID, "--mid", MID, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["tmk"]) == 32
    assert len(data["tmk_kcv"]) == 8
    (row,) = json.loads(host(ledger, "terminal", "list", "--json").output)
    assert row["tmk_kcv"] == data["tmk_kcv"]
    assert data["tmk"] not in json.dumps(row)


def test_a_duplicate_tid_is_one_clean_error_and_exit_1(ledger: str) -> None:
    assert host(ledger, "terminal", "add", "--tid", TID, "--mid", MID).exit_code == 0
    result = host(ledger, "terminal", "add", "--tid", TID, "--mid", MID)
    assert result.exit_code == 1
    assert result.output == (
        f"error: terminal '{TID}' is already registered\n错误：终端 '{TID}' 已登记，不能重复添加\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["terminal", "add", "--tid", TID, "--mid", "999999999999999"],
            f"error: cannot add terminal '{TID}': merchant '999999999999999' is not registered\n"
            f"错误：无法添加终端 '{TID}'：商户 '999999999999999' 尚未登记",
        ),
        (
            ["terminal", "add", "--tid", "1234", "--mid", MID],
            "error: TID '1234' is 4 characters, expecting exactly 8\n"
            "错误：TID '1234' 为 4 个字符，应恰为 8 个",
        ),
        (
            ["terminal", "add", "--tid", TID, "--mid", MID, "--tmk", "XYZ"],
            "error: key hex is 3 characters, expecting 16, 32 or 48\n"
            "错误：密钥为 3 位十六进制字符，应为 16、32 或 48 位",
        ),
        (
            ["terminal", "disable", "--tid", "87654321"],
            "error: terminal '87654321' is not registered\n错误：终端 '87654321' 尚未登记",
        ),
        (
            ["merchant", "add", "--mid", MID, "--name", "Again"],
            f"error: merchant '{MID}' is already registered\n"
            f"错误：商户 '{MID}' 已登记，不能重复添加",
        ),
        (
            ["policy", "--min-version", "1.2"],
            "error: --min-version: software version must be MAJOR.MINOR.PATCH (0-99 each): '1.2'\n"
            "错误：--min-version 最低版本须为 主版本.次版本.修订号（如 1.2.3，每段 0-99）",
        ),
    ],
)
def test_user_errors_are_one_line_in_english_and_one_in_chinese_without_traceback(
    ledger: str, args: list[str], message: str
) -> None:
    result = host(ledger, *args)
    assert result.exit_code == 1
    assert result.output == message + "\n"


def test_commands_refuse_a_ledger_that_was_never_initialised(db: str) -> None:
    result = host(db, "terminal", "list")
    assert result.exit_code == 1
    assert result.output.startswith(f"error: no ledger at {db} (--db): create it first with")
    assert not Path(db).exists()


def test_terminal_list_json_disable_and_enable(ledger: str) -> None:
    host(ledger, "terminal", "add", "--tid", TID, "--mid", MID, "--region", "SH", "--model", "A8")
    (row,) = json.loads(host(ledger, "terminal", "list", "--json").output)
    assert (row["tid"], row["mid"], row["status"]) == (TID, MID, "active")
    assert (row["region"], row["model"], row["signed_on"]) == ("SH", "A8", False)

    result = host(ledger, "terminal", "disable", "--tid", TID)
    assert result.exit_code == 0
    assert result.output == f"terminal {TID} disabled\n"
    (row,) = json.loads(host(ledger, "terminal", "list", "--json").output)
    assert row["status"] == "disabled"

    assert host(ledger, "terminal", "enable", "--tid", TID).output == f"terminal {TID} enabled\n"
    (row,) = json.loads(host(ledger, "terminal", "list", "--json").output)
    assert row["status"] == "active"


def test_terminal_list_table_shows_the_terminal(ledger: str) -> None:
    host(ledger, "terminal", "add", "--tid", TID, "--mid", MID)
    result = host(ledger, "terminal", "list")
    assert result.exit_code == 0
    assert "1 terminal(s)" in result.output
    assert TID in result.output


REQUIRED_TEXT = "settlement MAC: required (0500 and 0320 without a valid MAC are refused with A0)\n"


def test_policy_sets_and_shows_the_minimum_software_version(ledger: str) -> None:
    assert host(ledger, "policy").output == (
        "minimum terminal software version: none (any version signs on)\n" + REQUIRED_TEXT
    )
    result = host(ledger, "policy", "--min-version", "1.2.3", "--json")
    assert json.loads(result.output) == {
        "min_version": "1.2.3",
        "min_version_digits": "010203",
        "settlement_mac": "required",
    }
    assert host(ledger, "policy").output == (
        "minimum terminal software version: 1.2.3\n" + REQUIRED_TEXT
    )


def test_policy_switches_the_settlement_mac_and_says_optional_is_less_safe(ledger: str) -> None:
    result = host(ledger, "policy", "--settlement-mac", "optional", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["settlement_mac"] == "optional"
    assert host(ledger, "policy").output == (
        "minimum terminal software version: none (any version signs on)\n"
        "settlement MAC: optional (LESS SAFE: 0500 and 0320 without a MAC are accepted; "
        "anyone who knows a TID and MID can close that terminal's batch)\n"
    )
    assert host(ledger, "policy", "--settlement-mac", "REQUIRED").output.endswith(REQUIRED_TEXT)
    wrong = host(ledger, "policy", "--settlement-mac", "sometimes")
    assert wrong.exit_code == 2
    assert "'--settlement-mac'" in wrong.output and "'sometimes'" in wrong.output
    assert host(ledger, "policy").output.endswith(REQUIRED_TEXT)  # unchanged by the error


@pytest.mark.parametrize("option", ["--port", "--metrics-port"])
def test_serve_on_a_taken_port_says_which_and_why(ledger: str, option: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        args = ["--port", "0", option, port] if option != "--port" else [option, port]
        result = host(ledger, "serve", *args)
    assert result.exit_code == 1
    what = "/metrics" if option == "--metrics-port" else "for terminals"
    assert f"{what} on 127.0.0.1:{port}: address already in use" in result.output
    assert "Traceback" not in result.output

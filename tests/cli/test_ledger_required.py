"""Host commands work on the ledger ``host init`` made, and say so when it is not there.

A newcomer who leaves ``--db`` out of one command, or mistypes it, must be told where the
ledger is, not invited to create a second one; ``host serve`` must not start on a new, empty
ledger (every terminal would be refused with 97) or a new vault key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from possettle.cli.main import app

MID = "123456789012345"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("POSSETTLE_DB", "POSSETTLE_HOST_KEY", "POSSETTLE_HOST_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_a_command_without_db_names_the_ledger_that_exists_not_a_new_one() -> None:
    assert run("host", "init", "--db", "./host.db").exit_code == 0
    result = run("host", "merchant", "add", "--mid", MID, "--name", "Demo shop")
    assert result.exit_code == 1
    assert "possettle-host.db (the default, --db not given)" in result.output
    assert "host.db" in result.output and "--db " in result.output
    assert "host init --db ./possettle-host.db" not in result.output  # no second ledger
    assert "错误：" in result.output
    assert not Path("possettle-host.db").exists()
    assert (
        run(
            "host", "merchant", "add", "--db", "./host.db", "--mid", MID, "--name", "Demo shop"
        ).exit_code
        == 0
    )


def test_with_no_ledger_anywhere_it_says_to_init_the_same_path() -> None:
    result = run("host", "merchant", "list", "--db", "./shop.db")
    assert result.exit_code == 1
    assert "no ledger at" in result.output
    assert "`possettle host init --db ./shop.db`" in result.output
    assert "错误：" in result.output
    assert not Path("shop.db").exists()


def test_serve_refuses_a_ledger_host_init_never_made() -> None:
    result = run("host", "serve", "--db", "./typo.db", "--port", "0")
    assert result.exit_code == 1
    assert "no ledger at" in result.output and "typo.db" in result.output
    assert "`possettle host init --db ./typo.db`" in result.output
    assert "错误：" in result.output
    assert not Path("typo.db").exists() and not Path("typo.db.key").exists()


def test_serve_refuses_a_ledger_whose_vault_key_is_missing() -> None:
    assert run("host", "init", "--db", "./host.db").exit_code == 0
    result = run("host", "serve", "--db", "./host.db", "--key-file", "./elsewhere.key")
    assert result.exit_code == 1
    assert "vault key file elsewhere.key not found" in result.output
    assert "错误：" in result.output
    assert not Path("elsewhere.key").exists()


def test_merchant_add_and_terminal_enable_disable_answer_json() -> None:
    db = ["--db", "./host.db"]
    assert run("host", "init", *db).exit_code == 0
    added = run("host", "merchant", "add", *db, "--mid", MID, "--name", "Demo shop", "--json")
    assert json.loads(added.output) == {"mid": MID, "name": "Demo shop", "address": None}
    assert run("host", "terminal", "add", *db, "--tid", "12345678", "--mid", MID).exit_code == 0
    off = run("host", "terminal", "disable", *db, "--tid", "12345678", "--json")
    assert json.loads(off.output) == {"tid": "12345678", "status": "disabled"}
    on = run("host", "terminal", "enable", *db, "--tid", "12345678", "--json")
    assert json.loads(on.output) == {"tid": "12345678", "status": "active"}

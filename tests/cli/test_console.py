"""``possettle console``: user management from the command line, and the server's help."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import console_users
from possettle.terminal.operators import verify_password


def _init(tmp_path: Path) -> str:
    db = str(tmp_path / "host.db")
    run = CliRunner().invoke(app, ["host", "init", "--db", db])
    assert run.exit_code == 0, run.output
    return db


def test_user_add_stores_a_scrypt_hash_and_the_role(tmp_path: Path) -> None:
    db = _init(tmp_path)
    run = CliRunner().invoke(
        app,
        ["console", "user", "add", "--db", db, "--username", "ops1", "--role", "operator",
         "--password", "s3cret-pass"],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert run.output == "console user ops1 added (operator)\n"
    engine = create_engine_for(db)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(console_users)).one()
    finally:
        engine.dispose()
    assert row.username == "ops1" and row.role == "operator"
    assert row.password_hash.startswith("scrypt$")
    assert verify_password("s3cret-pass", row.password_hash)


def test_user_add_refuses_a_duplicate_and_a_short_password(tmp_path: Path) -> None:
    db = _init(tmp_path)
    args = ["console", "user", "add", "--db", db, "--username", "a", "--role", "admin"]
    assert CliRunner().invoke(app, [*args, "--password", "long-enough"]).exit_code == 0
    again = CliRunner().invoke(app, [*args, "--password", "long-enough"])
    assert again.exit_code == 1
    assert "already exists" in again.output
    short = CliRunner().invoke(app, [*args[:-4], "--username", "b", "--role", "viewer",
                                     "--password", "short"])  # fmt: skip
    assert short.exit_code == 1
    assert "at least 8 characters" in short.output


def test_user_add_prompts_for_the_password_when_not_given(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = _init(tmp_path)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "typed-password")
    run = CliRunner().invoke(
        app, ["console", "user", "add", "--db", db, "--username", "v", "--role", "viewer"]
    )
    assert run.exit_code == 0, run.output


def test_console_on_a_missing_ledger_says_how_to_create_it(tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["console", "--db", str(tmp_path / "none.db")])
    assert run.exit_code == 1
    assert "possettle host init" in run.output


def test_console_help_names_its_options() -> None:
    run = CliRunner().invoke(app, ["console", "--help"])
    assert run.exit_code == 0
    for option in ("--db", "--port", "--host", "--secure-cookies"):
        assert option in run.output

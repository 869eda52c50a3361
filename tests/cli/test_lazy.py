"""The command line imports only what the command it runs needs (possettle/cli/lazy.py).

``possettle --help`` imports no command group, and ``possettle terminal status`` none of the
host, the console, the doctor, SQLAlchemy, FastAPI or python-escpos: each would cost an
operator (or a script calling the terminal in a loop) a noticeable wait on every command.
bench/cli.py measures the times; these tests pin what is imported, which does not depend on
the machine's speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from possettle.cli.lazy import LazyGroup, reflow
from possettle.cli.main import app

HEAVY = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "escpos", "psycopg")
NEVER_FOR_A_TERMINAL = (
    "possettle.host",
    "possettle.console",
    "possettle.doctor",
    "possettle.ledger",
    "possettle.monitor",
    "possettle.sim",
)
TMK = "0123456789ABCDEFFEDCBA9876543210"

_PROBE = """
import json, sys
from possettle.cli.main import app
try:
    app(sys.argv[2:], prog_name="possettle")
except SystemExit as e:
    code = e.code
with open(sys.argv[1], "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def _imported(tmp_path: Path, *args: str) -> set[str]:
    """The modules a fresh interpreter has imported once `possettle ARGS` has run."""
    report = tmp_path / "modules.json"
    subprocess.run(
        [sys.executable, "-c", _PROBE, str(report), *args],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    data = json.loads(report.read_text())
    assert data["code"] in (0, None), data["code"]
    return set(data["modules"])


def _top(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_help_imports_no_command_group(tmp_path: Path) -> None:
    modules = _imported(tmp_path, "--help")
    assert _top(modules, HEAVY) == []
    possettle = sorted(m for m in modules if m.startswith("possettle."))
    assert possettle == ["possettle.cli", "possettle.cli.lazy", "possettle.cli.main"]


def test_terminal_status_imports_neither_host_nor_console_nor_escpos(tmp_path: Path) -> None:
    directory = tmp_path / "T1"
    init = CliRunner().invoke(
        app,
        ["terminal", "init", "--dir", str(directory), "--tid", "12345678",
         "--mid", "123456789012345", "--tmk", TMK],
    )  # fmt: skip
    assert init.exit_code == 0, init.output
    modules = _imported(tmp_path, "terminal", "status", "--dir", str(directory))
    assert _top(modules, HEAVY) == []
    assert _top(modules, NEVER_FOR_A_TERMINAL) == []


def _stubs_and_commands() -> list[tuple[str, str, str | None]]:
    root = typer.main.get_command(app)
    assert isinstance(root, LazyGroup)
    loaded = root.load_all()
    return [(name, spec.help, loaded.commands[name].help) for name, spec in LazyGroup.lazy.items()]


@pytest.mark.parametrize(("name", "listed", "own"), _stubs_and_commands())
def test_the_help_listing_says_what_each_command_says(
    name: str, listed: str, own: str | None
) -> None:
    """`possettle --help` lists each command without importing it: the line it shows must be
    the first paragraph of the command's own help."""
    first = (own or "").split("\n\n")[0]
    assert listed == first, f"{name}: listed {listed!r}, its help says {first!r}"


def test_the_help_listing_shows_every_command_and_imports_none() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in LazyGroup.lazy:
        assert f" {name} " in result.output


def test_reflow_joins_the_lines_of_a_paragraph_and_keeps_paragraphs() -> None:
    text = "One paragraph\non two lines.\n\n\bkept\nas is\n\nA list:\n  * one\n  * two"
    assert (
        reflow(text) == "One paragraph on two lines.\n\n\bkept\nas is\n\nA list:\n  * one\n  * two"
    )

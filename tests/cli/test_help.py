"""Every command of the ``possettle`` app has help text, and ``--help`` works everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from possettle.cli.lazy import LazyGroup
from possettle.cli.main import app


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


def _tree() -> Any:
    """The whole command tree, every lazily imported group loaded (possettle/cli/lazy.py)."""
    root = typer.main.get_command(app)
    assert isinstance(root, LazyGroup)
    return root.load_all()


COMMANDS = list(_walk(_tree()))
PATHS = [path for path, _ in COMMANDS]


def test_the_app_has_the_documented_commands() -> None:
    assert {" ".join(p) for p in PATHS} >= {
        "demo",
        "host init",
        "host merchant add",
        "host merchant list",
        "host terminal add",
        "host terminal list",
        "host terminal disable",
        "host terminal enable",
        "host policy",
        "host serve",
        "codec decode",
        "doctor",
        "fault proxy",
        *(f"terminal {c}" for c in (
            "init", "signon", "signoff", "echo", "idle", "sale", "void", "refund", "settle",
            "reprint", "status", "printer", "reader", "resume", "crash-points", "operator add",
            "operator list",
        )),
    }  # fmt: skip


DOCS = Path(__file__).resolve().parents[2]


def _documentation() -> str:
    return "\n".join(
        p.read_text(encoding="utf-8") for p in [DOCS / "README.md", *(DOCS / "docs").glob("*.md")]
    )


@pytest.mark.parametrize("path", [p for p in PATHS if p], ids=[" ".join(p) for p in PATHS if p])
def test_every_command_is_documented(path: tuple[str, ...]) -> None:
    text = _documentation()
    if len(path) > 1 and path[0] in ("host", "terminal", "fault", "codec", "merchant"):
        assert (
            f"possettle {' '.join(path)}" in text or f"{' '.join(path[:-1])} {path[-1]}" in text
        ), f"`possettle {' '.join(path)}` is not in the README or docs/"
    else:
        assert f"possettle {' '.join(path)}" in text, f"`possettle {' '.join(path)}` undocumented"


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "possettle" for p in PATHS]
)
def test_every_command_has_help_text(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or "").strip(), f"`possettle {' '.join(path)}` has no help text"


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "possettle" for p in PATHS])
def test_help_exits_zero_for_every_command(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    # A flag takes no value: no placeholder beside it (Typer's Rich help wrote "<bool>").
    assert "<bool>" not in result.output, result.output


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "possettle" for p in PATHS]
)
def test_help_paragraphs_have_no_hard_line_breaks(path: tuple[str, ...], command: Any) -> None:
    """Rich reflows a paragraph to the terminal's width only if it is one line: a docstring's
    line breaks would break the help's lines short, mid-sentence, on a narrow terminal."""
    texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
    for text in texts:
        for paragraph in text.split("\n\n"):
            if paragraph.startswith("\b") or "\n " in paragraph:
                continue  # kept as written on purpose
            assert "\n" not in paragraph.strip(), f"possettle {' '.join(path)}: {paragraph!r}"


# Commands without --json, and why; every other command has it.
NO_JSON = {
    ("host", "serve"): "a server until stopped; its logs are JSON lines with --json-logs",
}


def _leaves() -> list[tuple[tuple[str, ...], Any]]:
    return [(p, c) for p, c in COMMANDS if not getattr(c, "commands", None) and p]


@pytest.mark.parametrize(("path", "command"), _leaves(), ids=[" ".join(p) for p, _ in _leaves()])
def test_every_command_has_json_output(path: tuple[str, ...], command: Any) -> None:
    options = {opt for param in command.params for opt in param.opts}
    if path in NO_JSON:
        assert "--json" not in options, f"{path} has --json now: drop it from NO_JSON"
    else:
        assert "--json" in options, f"`possettle {' '.join(path)}` has no --json"


def test_version_option_prints_the_package_version() -> None:
    from possettle import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"possettle {__version__}\n"

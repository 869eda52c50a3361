"""Every shell command block in README.md and docs/*.md runs, as written, in order.

A newcomer follows the README line by line: a command that fails as written is a bug. Each
document gets its own empty temporary directory; its blocks run there in the order they
appear, each line as its own shell command (``bash -c``), with the ``possettle`` of this
checkout first on ``PATH`` and no ``POSSETTLE_*`` settings from the environment. Every
command must exit 0. A document in docs/ whose first block begins with ``possettle host
init`` starts afresh too; any other goes on from where the README left the reader (the
README's blocks run first in its directory).

What the runner does for the reader, and nothing else:

* ``--port 5000`` (the host's port in the docs) and ``--port 8080`` (the console's) become
  free ports chosen for the run, the same in every block of the document;
* ``--tmk HEX`` becomes the TMK the last ``host terminal add`` printed, as the reader would
  copy it;
* a server (``possettle host serve``, ``possettle console`` without a subcommand) runs in the
  background — the runner waits until it listens — and is stopped when the document's last
  block is done; one that exits early fails the test.

Blocks fenced with another language (``toml``, ``json``, ``python``, ``text`` for diagrams)
are not commands and are skipped. A shell block (no language, ``sh``, ``bash``, ``console``)
holds commands only. A block that cannot run on its own — a reference list of every option —
says why on the line before its fence, ``<!-- not run: REASON -->``; its ``possettle`` lines
are still checked against the command line (each command and option must exist).
``python3 scripts/dev.py`` lines are not run here (:data:`NOT_RUN`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main

from possettle.cli.lazy import LazyGroup
from possettle.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"", "sh", "shell", "bash", "console"}
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
NOT_RUN_MARK = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->\s*$")
TMK_PRINTED = re.compile(r"\bTMK ([0-9A-F]{32})\b")

# Commands of the docs this test does not run, and why.
NOT_RUN = {
    "python3 scripts/dev.py test": "runs this very suite",
    "python3 scripts/dev.py demo": "the same `possettle demo` tests/sim/test_demo.py runs; "
    "through dev.py it would first reinstall .venv whenever pyproject.toml changed",
    "python3 scripts/dev.py bench": "benchmarks take minutes and measure nothing here",
}
START_WITHIN_S = 60.0  # a server's start on a loaded CI machine
COMMAND_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Block:
    document: Path
    line: int  # of the opening fence
    language: str
    commands: tuple[tuple[int, str], ...]  # (line number, command)
    not_run: str | None  # the reason given, for a block that is only checked


def _blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        language = match.group(1).strip().lower()
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = NOT_RUN_MARK.search(before)
        commands = []
        for offset, raw in enumerate(match.group(2).split("\n")):
            if raw.strip():
                commands.append((line + 1 + offset, raw.strip()))
        found.append(Block(document, line, language, tuple(commands), mark and mark.group(1)))
    return found


def _shell_blocks(document: Path) -> list[Block]:
    return [b for b in _blocks(document) if b.language in SHELL]


def _words(command: str) -> list[str]:
    return shlex.split(command, comments=True)


def _skipped(command: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if command.startswith(start)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree() -> Any:
    root = typer.main.get_command(app)
    assert isinstance(root, LazyGroup)
    return root.load_all()


def _unknown_words(words: list[str]) -> str | None:
    """What in a ``possettle`` command line the command line does not know, if anything."""
    command, rest = _tree(), words[1:]
    while rest and rest[0] in getattr(command, "commands", {}):
        command, rest = command.commands[rest[0]], rest[1:]
    known = {"--help"} | {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for word in rest:
        if word.startswith("--") and word.split("=", 1)[0] not in known:
            return f"{word.split('=', 1)[0]} is not an option of `{' '.join(words[:2])} …`"
    if getattr(command, "commands", None) and rest and not rest[0].startswith("-"):
        return f"{rest[0]!r} is not a command of `{command.name}`"
    return None


# ----------------------------------------------------------------------------- the document


def test_every_shell_block_holds_only_commands() -> None:
    """A diagram or an example output in a bare fence would be taken for commands: such a
    block says its language (```text, ```json)."""
    wrong = [
        f"{b.document.relative_to(ROOT)}:{n}: {c!r}"
        for doc in DOCUMENTS
        for b in _shell_blocks(doc)
        for n, c in b.commands
        if not c.startswith(("possettle ", "python3 scripts/dev.py "))
    ]
    assert not wrong, "not a possettle or dev.py command (give the block a language):\n" + (
        "\n".join(wrong)
    )


def test_commands_not_run_are_still_real_commands() -> None:
    wrong = []
    for doc in DOCUMENTS:
        for block in _shell_blocks(doc):
            for n, command in block.commands:
                words = _words(command)
                if words[0] == "possettle" and (problem := _unknown_words(words)):
                    wrong.append(f"{doc.relative_to(ROOT)}:{n}: {problem}")
    assert not wrong, "\n".join(wrong)


class Session:
    """One document's run: its directory, ports, servers and what the reader copied."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ports = {"5000": _free_port(), "8080": _free_port()}
        self.tmk: str | None = None
        self.servers: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        bin_dir = str(Path(sys.executable).parent)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("POSSETTLE_")} | {
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "COLUMNS": "100",
        }

    def substitute(self, where: str, command: str) -> str:
        command = re.sub(
            r"--port (5000|8080)\b", lambda m: f"--port {self.ports[m.group(1)]}", command
        )
        if re.search(r"--tmk HEX\b", command):
            assert self.tmk, f"{where}: --tmk HEX, but no `host terminal add` printed a TMK yet"
            command = re.sub(r"--tmk HEX\b", f"--tmk {self.tmk}", command)
        return command

    def run(self, where: str, command: str) -> None:
        words = _words(command)
        if words[:3] == ["possettle", "host", "serve"] or (
            words[:2] == ["possettle", "console"] and "user" not in words
        ):
            self.serve(where, command, words)
            return
        try:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=self.directory,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                start_new_session=True,  # no terminal to prompt on
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"{where}: `{command}` still running after {exc.timeout}s"
            ) from exc
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{where}: `{command}` exited {done.returncode}:\n{output}"
        if words[:4] == ["possettle", "host", "terminal", "add"]:
            printed = TMK_PRINTED.search(done.stdout)
            assert printed, f"{where}: `{command}` printed no TMK:\n{output}"
            self.tmk = printed.group(1)

    def serve(self, where: str, command: str, words: list[str]) -> None:
        port = int(words[words.index("--port") + 1]) if "--port" in words else None
        assert port is not None, f"{where}: a server in the docs names its --port"
        log = self.directory / f"server-{len(self.servers)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=self.directory,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.servers.append((where, proc, log))
        deadline = time.monotonic() + START_WITHIN_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                text = log.read_text(errors="replace")
                raise AssertionError(f"{where}: `{command}` exited {proc.returncode}:\n{text}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return
            time.sleep(0.1)
        raise AssertionError(f"{where}: `{command}` not listening after {START_WITHIN_S}s")

    def stop(self) -> list[str]:
        """Stop the servers; what went wrong with any of them."""
        problems = []
        for where, proc, log in self.servers:
            if proc.poll() is not None:
                problems.append(f"{where}: the server exited {proc.returncode} before the end:\n"
                                + log.read_text(errors="replace"))  # fmt: skip
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return problems


@contextlib.contextmanager
def _session(directory: Path) -> Iterator[Session]:
    session = Session(directory)
    try:
        yield session
    finally:
        problems = session.stop()
    assert not problems, "\n".join(problems)


def _run_blocks(session: Session, document: Path) -> None:
    for block in _shell_blocks(document):
        if block.not_run is not None:
            continue
        for n, command in block.commands:
            if _skipped(command):
                continue
            where = f"{document.relative_to(ROOT)}:{n}"
            session.run(where, session.substitute(where, command))


def _sets_up_its_own_host(document: Path) -> bool:
    runnable = [b for b in _shell_blocks(document) if b.not_run is None and b.commands]
    return bool(runnable) and runnable[0].commands[0][1].startswith("possettle host init ")


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_the_documents_commands_work_as_written(document: Path, tmp_path: Path) -> None:
    """The README on its own; a document of docs/ that begins with `host init` on its own
    too, the others where the README left the reader (its ledger ./host.db and its host
    serving, its terminal T1 signed on and settled)."""
    with _session(tmp_path) as session:
        if document != README and not _sets_up_its_own_host(document):
            _run_blocks(session, README)
        _run_blocks(session, document)

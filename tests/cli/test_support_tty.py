"""``possettle support`` driven through a real terminal (a pseudo-terminal), as a person types.

The command runs in its own process with a pty as its stdin, stdout and stderr, so Rich sees
a terminal (colours, width, line editing) and the prompts are read the way they are at a
shop's counter: the test waits for each prompt on the screen before it types.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
WAIT_S = 30.0

# With the engine of the CLI tests' stand-in (tests/cli/support_fakes.py, installed before the
# app runs in the child process) the prompts are known in advance; the last test runs the
# real engine.
_CHILD = """
import sys
from tests.cli import support_fakes
support_fakes.install()
from possettle.cli.main import app
app(sys.argv[1:], prog_name="possettle")
"""
_REAL = """
import sys
from possettle.cli.main import app
app(sys.argv[1:], prog_name="possettle")
"""


class Tty:
    """A child process on a pseudo-terminal: read what it shows, type lines into it."""

    def __init__(self, *args: str, child: str = _CHILD) -> None:
        master, slave = pty.openpty()
        env = {**os.environ, "COLUMNS": "120", "LINES": "50", "TERM": "xterm-256color"}
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", child, *args],
            stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.screen = ""

    def expect(self, text: str, timeout: float = WAIT_S) -> str:
        """Wait until ``text`` is on the screen (colours stripped); what came before it."""
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen}")
            self._read(left)
        seen, _, self.screen = self.screen.partition(text)
        return seen + text

    def expect_any(self, *texts: str, timeout: float = WAIT_S) -> tuple[str, str]:
        """Wait until one of ``texts`` is on the screen: which one, and all shown up to it."""
        deadline = time.monotonic() + timeout
        while True:
            hits = [(self.screen.index(x), x) for x in texts if x in self.screen]
            if hits:
                return min(hits)[1], self.expect(min(hits)[1])
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"none of {texts!r} appeared; the screen:\n{self.screen}")
            self._read(left)

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"the child ended; the screen:\n{self.screen}")
            self.screen += ANSI.sub("", chunk.decode("utf-8", "replace")).replace("\r", "")

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=WAIT_S)
        finally:
            os.close(self.master)


@pytest.fixture
def tty() -> Iterator[list[Tty]]:
    started: list[Tty] = []
    yield started
    for t in started:
        if t.proc.poll() is None:
            t.proc.kill()
            t.close()


def test_an_interview_typed_at_a_terminal_ends_with_what_to_do(tty: list[Tty]) -> None:
    t = Tty("support", "--lang", "en")
    tty.append(t)
    t.expect("(Enter to skip):")
    t.type("冲正不成功 请与客服联系")
    t.expect("Enter if none:")
    t.type("")
    shown = t.expect("Your answer (number) [1/2/0]:")
    assert "Read (screen): 冲正不成功 请与客服联系 → reversal_failed" in shown
    assert "Did a settlement slip print?" in shown
    assert "1. Yes, balanced" in shown and "0. I don't know" in shown
    t.type("2")
    shown = t.expect("Your answer (number) [1/2/0]:")
    assert "no slip printed" in shown  # the evidence of the answer just given
    t.type("7")  # not a choice: asked again
    t.expect("Please select one of the available options")
    t.expect("Your answer (number) [1/2/0]:")
    t.type("2")
    shown = t.expect("avoid for printer.paper_out")
    assert "The top cause is likely enough." in shown
    assert "What to do:" in shown and "remedy for printer.paper_out" in shown
    assert t.close() == 0


def test_the_interview_speaks_chinese_by_default(tty: list[Tty]) -> None:
    t = Tty("support", "--screen", "冲正不成功", "--code", "94")
    tty.append(t)
    shown = t.expect("请输入答案的编号")
    assert "结算单打出来了吗？" in shown and "0. 不知道" in shown
    assert "Did a settlement slip print?" not in shown
    t.type("0")
    t.expect("请输入答案的编号")
    t.type("2")
    shown = t.expect("不要做")
    assert "怎么做" in shown
    assert t.close() == 0


def test_the_real_engine_at_a_terminal_asks_until_it_stops_and_agrees_with_diagnose(
    tty: list[Tty],
) -> None:
    """Each question answered "don't know" (0): the interview ends, and its answer is the
    one `support diagnose` gives for the same case."""
    t = Tty("support", "--lang", "en", "--screen", "结算失败", child=_REAL)
    tty.append(t)
    t.expect("Enter if none:")
    t.type("")
    asked: list[str] = []
    while True:
        which, shown = t.expect_any("Your answer (number)", "What NOT to do:")
        if which == "What NOT to do:":
            break
        found = re.findall(r"Next question \(([a-z_]+)\):", shown)
        assert found, shown
        asked.append(found[-1])
        assert len(asked) <= 25, asked
        t.type("0")
    assert t.close() == 0
    assert asked, "a screen this vague needs questions"
    args = ["diagnose", "--screen", "结算失败", "--json"]
    for qid in asked:
        args += ["--answer", f"{qid}=unknown"]
    ran = subprocess.run(
        [sys.executable, "-m", "possettle.cli.main", "support", *args],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    step = json.loads(ran.stdout)
    assert step["next_question"] is None
    assert "Cause: " in shown
    cause_line = shown[shown.rindex("Cause: ") :]
    assert f"({step['causes'][0]['cause']})" in cause_line.replace("\n", " ")

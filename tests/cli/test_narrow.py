"""What the demo prints fits an 80-column terminal (COLUMNS=80): the settlement table and the
console's one-time password, which is copied from the screen and must not wrap."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from possettle.cli.demo import _summary, show_login, summary_table
from possettle.cli.main import app
from possettle.sim.day import DayResult, TerminalDay
from tests.host.harness import register, running_host
from tests.terminal.harness import CUP_PAN, make_terminal

WIDTH = 80


def _day() -> DayResult:
    terminals = []
    for i, result in enumerate(
        ["balanced", "failed then recovered (balanced)", "balanced after upload", "balanced"]
    ):
        t = TerminalDay(index=i, tid=f"DEMO{i:04d}", directory=Path(f"t{i}"), batch=1)
        t.result = result
        t.figures = {"sales": 180, "voids": 12, "refunds": 30, "offline": 2,
                     "debit_amount": 1_234_567_89, "credit_amount": 1_234_00}  # fmt: skip
        t.events = [
            "approved offline (host down)",
            "power cut mid-settlement (exit 137) -> resumed",
            "printer out of paper -> slip queued",
        ]
        terminals.append(t)
    return DayResult(terminals, 740, 0, 0, 1, 1, 14.4, "/tmp/possettle-demo-abcdefgh")


def _rendered(draw: object) -> list[str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=WIDTH, highlight=False, color_system=None)
    assert callable(draw)
    draw(console)
    return buffer.getvalue().splitlines()


def test_the_settlement_table_fits_80_columns_one_line_per_terminal() -> None:
    lines = _rendered(lambda c: c.print(summary_table(_day())))
    assert max(cell_len(line) for line in lines) <= WIDTH
    rows = [line for line in lines if "DEMO" in line]
    assert len(rows) == 4  # no id, count or amount wrapped onto a second line
    assert all("1,233,333.89" in row for row in rows)
    assert all(f"DEMO{i:04d}" in rows[i] for i in range(4))
    for header in ("sales", "voids", "refunds", "offline", "net"):
        assert any(header in line for line in lines)


def test_the_demo_summary_at_columns_80(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    _summary(_day())
    lines = capsys.readouterr().out.splitlines()
    assert max(cell_len(line) for line in lines) <= WIDTH
    assert sum("DEMO0001" in line for line in lines) == 2  # its row, and what happened
    words = " ".join(" ".join(lines).split())
    assert "power cut mid-settlement (exit 137) → resumed; printer out of paper" in words


def test_the_one_time_password_is_on_one_line_at_80_columns() -> None:
    password = "Zq9-" + "x" * 60  # longer than any real one: still one line
    lines = _rendered(lambda c: show_login(c, "http://127.0.0.1:8080/", "admin-1a2b", password))
    assert any(password in line for line in lines)
    assert any("admin-1a2b" in line for line in lines)
    real = _rendered(lambda c: show_login(c, "http://127.0.0.1:8080/", "admin-1a2b", "A" * 16))
    assert max(cell_len(line) for line in real) <= WIDTH


async def test_a_sale_reads_in_lines_that_do_not_wrap_at_80_columns(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        args = ["terminal", "sale", "--dir", str(term), "--amount", "12.34", "--pan", CUP_PAN]
        result = await asyncio.to_thread(
            CliRunner().invoke, app, [*args, "--expiry", "3012", "--pin", "123456"]
        )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("APPROVED 交易成功  sale STAN")
    assert lines[1] == "amount 金额 CNY 12.34  card 卡号 622202*********0128"
    assert max(len(line) for line in lines) <= 80

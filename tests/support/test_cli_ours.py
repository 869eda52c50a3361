"""``possettle support diagnose`` on one of our terminals, with the real engine: the ledger's
and the journal's answers are never asked, and the package for the acquirer is filled in.

The ledger is tests/support/test_ours.py's (SQLite, and PostgreSQL when POSSETTLE_TEST_PG is
set); the engine's clock is the real one, so the ledger is dated around now.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.clock import SystemClock
from tests.support import test_ours
from tests.support.test_ours_journal import _paper_out_after_settling


def _now_ledger(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """test_ours's working day, with the command's clock stopped at that day's NOW.

    The command runs in this process (CliRunner) on the system clock; "sales in the last hour"
    and "signed on today" depend on the time of day, so the clock is the test's, not the
    machine's (a whole-day shift failed whenever the test ran more than an hour past 11:00
    Beijing time)."""
    monkeypatch.setattr(SystemClock, "now", lambda self: test_ours.NOW)
    return test_ours._ledger(db_url, test_ours._working_day)


def support(*args: str) -> Any:
    return CliRunner().invoke(app, ["support", *args], env={"COLUMNS": "300"})


def test_the_ledger_answers_questions_that_are_then_never_asked(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _now_ledger(db_url, monkeypatch)
    asked: list[str] = []
    answers: list[str] = []
    for _ in range(30):
        args = ["diagnose", "--host-db", url, "--tid", "T0000001", "--screen", "结算失败"]
        args += [a for pair in answers for a in ("--answer", pair)]
        result = support(*args, "--json")
        assert result.exit_code == 0, result.output
        step = json.loads(result.stdout)
        by_data = {q for q, a in step["answered"].items() if a["by"] == "data"}
        assert by_data >= {"acquirer", "model", "signed_on", "sale_works", "others_work"}
        assert step["answered"]["signed_on"]["answer"] == "yes"
        question = step["next_question"]
        if question is None:
            break
        assert question["id"] not in by_data, question["id"]
        asked.append(question["id"])
        answers.append(f"{question['id']}=unknown")
    else:
        raise AssertionError(f"the interview never ended: {asked}")
    assert not {"acquirer", "model", "signed_on", "sale_works", "others_work"} & set(asked)
    known = step["escalation"]["known"]
    assert known["tid"]["value"] == "T0000001"
    assert known["mid"]["value"] == test_ours.MID
    assert known["batch"]["value"] == 2
    assert (known["trace"]["value"], known["reference"]["value"]) == ("000009", "000000000009")
    assert test_ours.PAN_MASKED not in result.stdout


def test_an_unknown_tid_is_a_usage_error_naming_the_registered_ones(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _now_ledger(db_url, monkeypatch)
    result = support("diagnose", "--host-db", url, "--tid", "T0000099", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--tid T0000099: no such terminal" in result.stderr
    assert "T0000001, T0000002, T0000003" in result.stderr
    assert "主机账本里没有这个终端" in result.stderr


def test_a_ledger_that_does_not_exist_is_refused_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "host.db"
    result = support("diagnose", "--host-db", str(missing), "--tid", "T0000001", "--json")
    assert result.exit_code == 1
    assert "no ledger at" in result.stderr and result.stdout == ""
    assert not missing.exists()


async def test_the_journal_answers_the_slip_and_the_paper_and_names_the_printer(
    tmp_path: Path, sqlite_url: str
) -> None:
    term = await _paper_out_after_settling(tmp_path, sqlite_url)
    result = support("diagnose", "--dir", str(term), "--screen", "打印机缺纸", "--json")
    assert result.exit_code == 0, result.output
    step = json.loads(result.stdout)
    paper = step["answered"]["paper"]
    assert (paper["answer"], paper["by"]) == ("empty", "data")
    assert step["answered"]["slip_printed"]["answer"] == "no"
    assert step["causes"][0]["cause"] == "printer.paper_out"
    keys = {e["key"] for e in step["causes"][0]["evidence"]}
    assert "probe.printer.state" in keys  # the doctor's evidence, as the doctor gave it
    assert step["next_question"] is None or step["next_question"]["id"] not in step["answered"]
    text = support("diagnose", "--dir", str(term), "--screen", "打印机缺纸", "--lang", "en")
    assert "printer.paper_out" in text.stdout and "What NOT to do" in text.stdout
    assert "Answered paper: The terminal's own data says" in text.stdout

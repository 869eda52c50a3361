"""``possettle support``: options become the case, output is the engine's result, bad input is
named and nothing is printed on stdout.

The engine here is the small stand-in of tests/cli/support_fakes.py, so what the CLI adds
(checking, passing, showing) is what is tested; the engine's ranking has its own tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.support.case import Case
from possettle.support.result import Result
from tests.cli import support_fakes

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def cases(monkeypatch: pytest.MonkeyPatch) -> list[Case]:
    """The fakes in place; every case the CLI hands the engine, in order."""
    seen: list[Case] = []

    def recording(case: Case, *, clock: object = None) -> Result:
        seen.append(case)
        return support_fakes.diagnose(case)

    support_fakes.install(monkeypatch)
    import possettle.support.engine as engine

    monkeypatch.setattr(engine, "diagnose", recording)
    return seen


def run(*args: str, input: str | None = None) -> object:
    return CliRunner().invoke(app, ["support", *args], input=input, env={"COLUMNS": "200"})


def test_diagnose_json_is_the_engines_result_for_the_case_the_options_describe(
    cases: list[Case], tmp_path: Path
) -> None:
    photo = tmp_path / "screen.png"
    photo.write_bytes(PNG)
    result = run(
        "diagnose", "--screen", " 冲正不成功 请与客服联系 ", "--code", "a0", "--acquirer", "LAKALA",
        "--model", "PAX S90", "--photo", str(photo), "--answer", "slip_printed=no", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    (case,) = cases
    assert case == Case(
        screen="冲正不成功 请与客服联系", code="A0", acquirer="lakala", model="PAX S90",
        photo=PNG, answers={"slip_printed": "no"},
    )  # fmt: skip
    assert json.loads(result.stdout) == support_fakes.diagnose(case).as_dict()  # type: ignore[attr-defined]


def test_calling_again_with_the_answers_so_far_continues_the_interview(cases: list[Case]) -> None:
    first = json.loads(run("diagnose", "--screen", "冲正不成功", "--json").stdout)  # type: ignore[attr-defined]
    assert first["stop"] == "asking" and first["next_question"]["id"] == "slip_printed"
    second = json.loads(
        run("diagnose", "--screen", "冲正不成功", "--answer", "slip_printed=no", "--json").stdout  # type: ignore[attr-defined]
    )
    assert second["next_question"]["id"] == "paper"
    third = json.loads(
        run(
            "diagnose", "--screen", "冲正不成功", "--answer", "slip_printed=no",
            "--answer", "paper=empty", "--json",
        ).stdout  # type: ignore[attr-defined]
    )  # fmt: skip
    assert third["stop"] == "confident" and third["next_question"] is None
    assert third["causes"][0]["cause"] == "printer.paper_out"


def test_diagnose_text_shows_the_ranking_and_the_numbered_next_question(
    cases: list[Case],
) -> None:
    result = run("diagnose", "--screen", "冲正不成功", "--lang", "en")
    assert result.exit_code == 0
    out = result.stdout  # type: ignore[attr-defined]
    assert "Read (screen): 冲正不成功 → reversal_failed" in out
    assert "Most likely causes" in out and "the screen said 冲正" in out
    assert "Next question (slip_printed):" in out
    assert "  1. Yes, balanced\n  2. No slip came out\n  0. I don't know" in out
    done = run("diagnose", "--answer", "paper=empty", "--lang", "zh")
    assert "怎么做" in done.stdout and "printer.paper_out 的处理" in done.stdout  # type: ignore[attr-defined]
    assert "不要做" in done.stdout and "printer.paper_out 不要做" in done.stdout  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "en", "zh"),
    [
        (["--answer", "paper"], "--answer: 'paper' is not QID=AID", "不是 问题=答案"),
        (["--answer", "=empty"], "'=empty' is not QID=AID", "不是 问题=答案"),
        (
            ["--answer", "papr=empty"],
            "no question 'papr'; the questions are: paper, slip_printed",
            "没有问题 'papr'",
        ),
        (
            ["--answer", "paper=gone"],
            "paper has no answer 'gone'; its answers are: ok, empty, unknown",
            "没有答案 'gone'",
        ),
        (
            ["--answer", "paper=ok", "--answer", "paper=empty"],
            "paper answered twice (ok and empty)",
            "回答了两次",
        ),
        (["--acquirer", "visa"], "no acquirer 'visa'; the acquirers are: cup, lakala", "收单机构"),
        (["--photo", "missing.png"], "--photo: no file missing.png", "不存在"),
        (["--photo", "notes.txt"], "notes.txt is not an image", "不是图片"),
        (["--tid", "T0000001"], "--tid: needs --host-db", "--host-db"),
        (["--host-db", "x.db"], "--host-db: needs --tid", "--tid"),
        (["--dir", "nowhere"], "--dir: no directory nowhere", "不存在"),
        (["--code", "A0 94"], "is not a response code", "不是应答码"),
    ],
)
def test_bad_input_is_named_with_what_is_valid_and_prints_nothing(
    cases: list[Case], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    args: list[str], en: str, zh: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a photo")
    result = CliRunner().invoke(
        app, ["support", "diagnose", *args, "--json"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # nothing half-written
    assert en in result.stderr and zh in result.stderr
    assert cases == []  # the engine was never asked
    assert not (tmp_path / "x.db").exists()


def test_questions_and_acquirers_list_every_id(cases: list[Case]) -> None:
    listed = json.loads(run("questions", "--json").stdout)  # type: ignore[attr-defined]
    assert listed == [q.as_dict() for q in support_fakes.QUESTIONS]
    acquirers = json.loads(run("acquirers", "--json").stdout)  # type: ignore[attr-defined]
    assert acquirers == [{"id": a.id, "en": a.en, "zh": a.zh} for a in support_fakes.ACQUIRERS]
    table = run("questions", "--lang", "zh").stdout  # type: ignore[attr-defined]
    assert "slip_printed" in table and "empty: 没纸了" in table
    assert "拉卡拉" in run("acquirers").stdout  # type: ignore[attr-defined]


def test_the_interview_asks_until_confident_then_gives_the_answer(cases: list[Case]) -> None:
    # screen text, no code, "2" no slip, "5" is not a choice (asked again), "2" no paper
    result = run("--lang", "en", input="冲正不成功 请与客服联系\n\n2\n5\n2\n")
    assert result.exit_code == 0, result.output
    out = result.stdout  # type: ignore[attr-defined]
    assert [dict(c.answers) for c in cases] == [
        {}, {"slip_printed": "no"}, {"slip_printed": "no", "paper": "empty"},
    ]  # fmt: skip
    assert cases[0].screen == "冲正不成功 请与客服联系" and cases[0].code is None
    assert "Please select one of the available options" in out
    assert "The top cause is likely enough." in out
    assert "What to do:\nremedy for printer.paper_out" in out
    assert "What NOT to do:\navoid for printer.paper_out" in out


def test_the_interview_takes_a_photo_path_and_dont_know(cases: list[Case], tmp_path: Path) -> None:
    photo = tmp_path / "screen.png"
    photo.write_bytes(PNG)
    result = run("--json", input=f"{photo}\n94\n0\n0\n")
    assert result.exit_code == 0, result.output
    assert cases[0].photo == PNG and cases[0].code == "94" and cases[0].screen is None
    assert dict(cases[-1].answers) == {"slip_printed": "unknown", "paper": "unknown"}
    final = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert final == support_fakes.diagnose(cases[-1]).as_dict()
    assert final["stop"] == "no_question_helps"
    assert "结算单打出来了吗？" in result.stderr  # the prompts went to stderr (Chinese default)


def test_the_interview_ends_cleanly_when_input_ends(cases: list[Case]) -> None:
    result = run("--screen", "冲正不成功", "--code", "", input="")
    assert result.exit_code == 1
    assert "Traceback" not in result.output

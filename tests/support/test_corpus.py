"""The support desk measured on its case corpus (tests/support/corpus, docs/support-accuracy.md).

Every case is run as an interview: what the merchant reported up front (screen text, code,
acquirer, model), then each question the desk asks answered from the case's recorded truth
("unknown" where the merchant would not know), until the desk stops asking or 12 questions.

* the tuning set meets the issue's aims: top-1 ≥ 90 %, top-3 ≥ 98 %, at most 3 questions on
  average before the top cause reaches 0.8;
* the hold-out set (never used for tuning) keeps the floor measured when it was set;
* no case ends with an empty ranking ("nothing wrong" is never the answer to a failed
  settlement);
* photo cases are rendered with Pillow and a CJK font, read back with Tesseract and diagnosed
  (their own test: OCR is slow).

bench/support.py prints the same figures with a baseline beside them.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Callable
from pathlib import Path

import pytest

from possettle.support.case import Case
from possettle.support.engine import diagnose
from possettle.support.result import Result
from tests.support.corpus import (
    CONFIDENT,
    CorpusCase,
    CorpusError,
    Outcome,
    cjk_font,
    interview,
    known_ids,
    load,
    load_all,
    load_file,
    render,
)
from tests.tools import missing_tool

#: the issue's aims, on the tuning set
TUNING_TOP1, TUNING_TOP3, MEAN_QUESTIONS = 0.90, 0.98, 3.0
#: the hold-out floor: set below the measurement on the merged engine (docs/support-accuracy.md)
HOLDOUT_TOP1, HOLDOUT_TOP3 = 0.85, 0.90


def _engine() -> Callable[[Case], Result]:
    return diagnose


class Outcomes(list[Outcome]):
    """The outcomes of one set; shown by their count only, so that a failing assertion does
    not print the hold-out's cases for whoever tunes the data to read."""

    def __repr__(self) -> str:
        return f"<{len(self)} outcomes>"


def _run(name: str) -> Outcomes:
    engine = _engine()
    return Outcomes(interview(c, engine) for c in load(name) if c.photo is None)


@pytest.fixture(scope="module")
def tuning() -> Outcomes:
    return _run("tuning")


@pytest.fixture(scope="module")
def holdout() -> Outcomes:
    return _run("holdout")


def _report(outcomes: list[Outcome]) -> str:
    misses = [o for o in outcomes if not o.top1]
    lines = [
        f"  {o.case.id}: expected {o.case.expect} (rank {o.rank}), got "
        f"{', '.join(o.ranking[:3])}; asked {', '.join(o.asked) or 'nothing'}"
        for o in misses
    ]
    return "\n".join(lines)


def _share(outcomes: list[Outcome], hit: Callable[[Outcome], bool]) -> float:
    return sum(1 for o in outcomes if hit(o)) / len(outcomes)


# ---------------------------------------------------------------- the corpus itself


def test_the_corpus_has_enough_cases_split_two_thirds_one_third() -> None:
    sets = load_all()
    tuning, holdout = len(sets["tuning"]), len(sets["holdout"])
    assert tuning + holdout >= 150
    assert 0.25 <= holdout / (tuning + holdout) <= 0.40


def test_every_cause_of_the_catalog_is_expected_by_some_case_in_each_set() -> None:
    ids = known_ids()
    for name, cases in load_all(ids).items():
        missing = ids.causes - {c.expect for c in cases}
        assert not missing, f"{name}.toml has no case for {sorted(missing)}"


def test_the_corpus_has_every_kind_of_report() -> None:
    cases = [c for cs in load_all().values() for c in cs]
    symptoms_only = [c for c in cases if not (c.screen or c.code or c.photo)]
    code_only = [c for c in cases if c.code and not c.screen]
    no_acquirer = [c for c in cases if c.acquirer is None]
    photos = [c for c in cases if c.photo]
    assert len(symptoms_only) >= 15
    assert len(code_only) >= 3
    assert len(no_acquirer) >= 3
    assert 3 <= len(photos) <= 10
    # the same code, a different cause: the acquirer decides
    by_code: dict[str, set[tuple[str | None, str]]] = {}
    for c in cases:
        if c.code:
            by_code.setdefault(c.code, set()).add((c.acquirer, c.expect))
    assert {e for _, e in by_code["90"]} >= {"operation.outside_hours", "software.outdated"}
    assert len({e for _, e in by_code["A2"]}) == 2
    assert len({e for _, e in by_code["91"]}) == 2


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text(body, encoding="utf-8")
    return path


CASE = """
[[case]]
id = "broken-1"
source = "a test"
screen = "通讯超时"
acquirer = "{acquirer}"
expect = "{expect}"
truth = {{ {question} = "{answer}" }}
"""


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"question": "colour"}, "unknown question id 'colour'"),
        ({"answer": "maybe"}, "unknown answer id 'maybe' for question 'network'"),
        ({"expect": "network.flaky"}, "unknown cause id 'network.flaky'"),
        ({"acquirer": "acme"}, "unknown acquirer id 'acme'"),
    ],
)
def test_an_unknown_id_is_an_error_naming_the_file_and_the_case(
    tmp_path: Path, fields: dict[str, str], said: str
) -> None:
    values = {
        "acquirer": "lakala",
        "expect": "network.unstable",
        "question": "network",
        "answer": "weak",
    }
    path = _write(tmp_path, CASE.format(**{**values, **fields}))
    with pytest.raises(CorpusError) as caught:
        load_file(path, "tuning", known_ids())
    assert str(caught.value).startswith("broken.toml: case 'broken-1': ")
    assert said in str(caught.value)


def test_a_valid_case_loads_with_what_the_merchant_reported(tmp_path: Path) -> None:
    values = {"acquirer": "lakala", "expect": "network.unstable", "question": "network"}
    path = _write(tmp_path, CASE.format(**values, answer="weak"))
    (case,) = load_file(path, "tuning", known_ids())
    assert case.answer("network") == "weak"
    assert case.answer("paper") == "unknown"
    assert case.answer("acquirer") == "lakala"  # said up front
    reported = case.reported({"network": "weak"})
    assert (reported.screen, reported.acquirer) == ("通讯超时", "lakala")
    assert dict(reported.answers) == {"network": "weak"}


def test_a_case_id_twice_is_an_error(tmp_path: Path) -> None:
    values = {"acquirer": "lakala", "expect": "network.unstable", "question": "network"}
    one = CASE.format(**values, answer="weak")
    path = _write(tmp_path, one + one)
    with pytest.raises(CorpusError, match="case 'broken-1' appears twice"):
        load_file(path, "tuning", known_ids())


# ---------------------------------------------------------------- the desk on the corpus


def test_tuning_set_meets_the_aims(tuning: list[Outcome]) -> None:
    top1 = _share(tuning, lambda o: o.top1)
    top3 = _share(tuning, lambda o: o.top3)
    questions = statistics.mean(o.to_confident for o in tuning)
    summary = f"top-1 {top1:.1%}, top-3 {top3:.1%}, questions {questions:.2f}"
    assert top1 >= TUNING_TOP1, f"{summary}\n{_report(tuning)}"
    assert top3 >= TUNING_TOP3, f"{summary}\n{_report(tuning)}"
    assert questions <= MEAN_QUESTIONS, summary


def test_holdout_set_keeps_its_floor(holdout: list[Outcome]) -> None:
    top1 = _share(holdout, lambda o: o.top1)
    top3 = _share(holdout, lambda o: o.top3)
    # the misses are not listed: whoever tunes the data must not learn the hold-out cases
    summary = f"hold-out top-1 {top1:.1%}, top-3 {top3:.1%}"
    assert top1 >= HOLDOUT_TOP1, summary
    assert top3 >= HOLDOUT_TOP3, summary


def test_no_case_is_told_nothing_is_wrong(tuning: list[Outcome], holdout: list[Outcome]) -> None:
    empty = [o.case.id for o in tuning + holdout if not o.ranking]
    assert not empty


def test_the_interview_asks_each_question_once_and_stops(
    tuning: list[Outcome], holdout: list[Outcome]
) -> None:
    for o in tuning + holdout:
        assert len(set(o.asked)) == len(o.asked), o.case.id
        assert o.stop in {"confident", "no_question_helps", "asking"}, o.case.id
        if o.stop == "confident":
            assert o.top_score >= CONFIDENT, o.case.id


# ---------------------------------------------------------------- photos


def _photo_cases() -> list[CorpusCase]:
    return [c for cs in load_all().values() for c in cs if c.photo is not None]


@pytest.mark.slow
@pytest.mark.parametrize("case", _photo_cases(), ids=lambda c: c.id)
def test_a_photo_of_the_screen_is_read_and_diagnosed(case: CorpusCase) -> None:
    if shutil.which("tesseract") is None:
        missing_tool("Tesseract is not installed (python3 scripts/dev.py installs it)")
    if cjk_font() is None:
        missing_tool("no CJK font to render the photo (python3 scripts/dev.py installs one)")
    engine = _engine()
    assert case.photo is not None
    photo = render(case.photo, seed=sum(map(ord, case.id)))
    outcome = interview(case, engine, photo=photo)
    assert outcome.read, "the desk says what it read off the photo"
    assert outcome.top3, f"{case.id}: got {outcome.ranking[:3]}, read {outcome.read}"


# ---------------------------------------------------------------- the driver itself


def _fake_desk(asks: tuple[str, ...]) -> Callable[[Case], Result]:
    """A desk that asks ``asks`` in order, then ranks network.unstable first iff the merchant
    said the signal is weak."""
    from possettle.catalogs import Text
    from possettle.support.result import Choice, Question, RankedCause

    def step(case: Case) -> Result:
        weak = case.answers.get("network") == "weak"
        order = ["network.unstable", "link.down"] if weak else ["link.down", "network.unstable"]
        causes = tuple(
            RankedCause(c, "software", s, (), Text("", ""), Text("", ""))
            for c, s in zip(order, (0.85 if weak else 0.5, 0.1), strict=True)
        )
        pending = [q for q in asks if q not in case.answers]
        question = Question(pending[0], "", "", (Choice("x", "", ""),)) if pending else None
        stop = "confident" if weak else ("asking" if pending else "no_question_helps")
        return Result(causes, question, (), (), {}, stop)

    return step


def test_the_interview_answers_from_the_truth_and_counts_the_questions(tmp_path: Path) -> None:
    values = {"acquirer": "lakala", "expect": "network.unstable", "question": "network"}
    (case,) = load_file(_write(tmp_path, CASE.format(**values, answer="weak")), "t", known_ids())
    outcome = interview(case, _fake_desk(("paper", "network", "power_cut")))
    assert outcome.asked == ("paper", "network")  # paper: "unknown"; network: "weak" → confident
    assert outcome.to_confident == 2
    assert (outcome.top1, outcome.rank, outcome.stop) == (True, 1, "confident")
    assert len(outcome.step_seconds) == 3


def test_the_interview_stops_at_the_question_limit(tmp_path: Path) -> None:
    values = {"acquirer": "lakala", "expect": "network.unstable", "question": "paper"}
    (case,) = load_file(_write(tmp_path, CASE.format(**values, answer="ok")), "t", known_ids())
    questions = tuple(f"q{i}" for i in range(20))
    outcome = interview(case, _fake_desk(questions), limit=5)
    assert len(outcome.asked) == 5
    assert outcome.to_confident == 5  # never confident: every question counts
    assert (outcome.rank, outcome.top1, outcome.top3) == (2, False, True)

"""One step of the support interview (support/engine.py): codes per acquirer, the first
question for an ambiguous code, answers that carry no evidence, answers from our data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from possettle.clock import FixedClock
from possettle.doctor.catalog import BY_ID
from possettle.support import ours
from possettle.support.case import Case
from possettle.support.engine import diagnose
from possettle.support.ours import OurFacts
from possettle.support.result import Result
from tests.support.core_fakes import fake_screens, screen

CLOCK = FixedClock(datetime(2026, 12, 8, 10, 0, tzinfo=UTC))


def _run(case: Case) -> Result:
    return diagnose(case, clock=CLOCK)


def _top(result: Result) -> str:
    return result.causes[0].cause


def test_the_same_code_on_two_acquirers_points_at_two_different_causes() -> None:
    """06 is an issuer error in the CUP table; 钱宝's host uses it for "sign on again"."""
    cup = _run(Case(code="06", acquirer="cup"))
    qianbao = _run(Case(code="06", acquirer="qianbao"))
    assert _top(cup) == "issuer.unavailable"
    assert _top(qianbao) == "keys.out_of_sync"
    evidence = {e.key: e for e in qianbao.causes[0].evidence}
    assert "重新签到" in evidence["code.06"].zh and "CTM" in evidence["code.06"].en


def test_90_is_the_cut_over_on_a_cup_host_and_an_update_on_the_unnamed_hosts() -> None:
    assert _top(_run(Case(code="90", acquirer="lakala"))) == "operation.outside_hours"
    other = _run(Case(code="90", acquirer="other"))
    assert {c.cause for c in other.causes[:2]} == {
        "operation.outside_hours",
        "software.outdated",
    }


@pytest.mark.parametrize("code", ["90", "A2", "91"])
def test_an_ambiguous_code_with_no_acquirer_asks_the_acquirer_first(code: str) -> None:
    result = _run(Case(code=code))
    assert result.stop == "asking"
    assert result.next_question is not None and result.next_question.id == "acquirer"
    ids = [a.id for a in result.next_question.answers]
    assert {"cup", "lakala", "shengpay", "qianbao", "other", "unknown"} <= set(ids)


def test_a_code_every_host_reads_alike_does_not_ask_for_the_acquirer() -> None:
    result = _run(Case(code="A0"))
    assert _top(result) == "keys.out_of_sync"
    assert result.next_question is None or result.next_question.id != "acquirer"


def test_once_the_acquirer_is_known_it_is_not_asked_again() -> None:
    result = _run(Case(code="A2", answers={"acquirer": "ccb"}))
    assert _top(result) == "host.unreachable"
    assert result.next_question is None or result.next_question.id != "acquirer"
    assert [(a.question, a.by) for a in result.answered] == [("acquirer", "you")]


def test_unknown_answers_carry_no_evidence() -> None:
    base = _run(Case(code="A2"))
    unsure = _run(Case(code="A2", answers={"slip_printed": "unknown", "paper": "unknown"}))
    assert [(c.cause, c.score) for c in unsure.causes] == [(c.cause, c.score) for c in base.causes]
    for qid in ("slip_printed", "paper"):  # answered (not asked again), but no evidence
        assert qid in {a.question for a in unsure.answered}
        assert unsure.next_question is None or unsure.next_question.id != qid


def test_an_answer_changes_the_ranking_and_is_the_causes_evidence() -> None:
    result = _run(Case(answers={"paper": "empty", "slip_printed": "no", "sale_works": "yes"}))
    assert _top(result) == "printer.paper_out"
    keys = {e.key for e in result.causes[0].evidence}
    assert "answer.paper.empty" in keys
    said = next(e for e in result.causes[0].evidence if e.key == "answer.paper.empty")
    assert said.en.startswith("You said:") and said.zh.startswith("您说")


def test_nothing_known_is_never_nothing_wrong() -> None:
    result = _run(Case())
    assert [c.cause for c in result.causes] == ["external.undetected"]
    assert result.stop == "asking" and result.next_question is not None
    collect = {i["id"] for i in result.escalation["collect"]}
    assert {"tid", "mid", "serial", "batch", "trace", "time", "photo"} <= collect


def test_a_card_decline_code_says_it_does_not_explain_a_settlement_failure() -> None:
    result = _run(Case(code="51", acquirer="cup"))
    assert _top(result) == "external.undetected"
    assert any("51" in n.en and "one sale" in n.en for n in result.notes)


def test_answers_from_our_data_are_never_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def facts(case: Case, *, clock: object) -> OurFacts:
        return OurFacts(
            answers={"paper": "empty", "sale_works": "yes", "network": "ok"},
            escalation={"tid": "12345678", "mid": "123456789012345", "batch": 7},
        )

    monkeypatch.setattr(ours, "facts", facts)
    seen: list[str] = []
    answers: dict[str, str] = {}
    for _ in range(12):
        result = _run(Case(tid="12345678", host_db="sqlite:///x.db", answers=answers))
        assert {(a.question, a.by) for a in result.answered} >= {
            ("paper", "data"),
            ("sale_works", "data"),
            ("network", "data"),
        }
        if result.next_question is None:
            break
        seen.append(result.next_question.id)
        answers = {**answers, result.next_question.id: "unknown"}
    assert not {"paper", "sale_works", "network"} & set(seen)
    known = result.escalation["known"]
    assert known["tid"]["value"] == "12345678" and known["batch"]["value"] == 7
    assert "tid" not in {i["id"] for i in result.escalation["collect"]}


def test_a_screen_match_is_evidence_in_the_same_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_screens(
        monkeypatch,
        screens={"冲正不成功": screen("reversal_failed", {"reversal.abandoned": 300.0})},
        codes={"(A0)": "A0"},
    )
    result = _run(Case(screen="冲正不成功 请与客服联系"))
    assert _top(result) == "reversal.abandoned"
    assert [r.source for r in result.read] == ["screen"]
    assert result.read[0].matched == ("reversal_failed",)
    assert "amount" in {i["id"] for i in result.escalation["collect"]}
    # a code found in the text counts like a code given
    coded = _run(Case(screen="交易失败 (A0)"))
    assert _top(coded) == "keys.out_of_sync"


def test_every_ranked_cause_says_what_to_do_and_what_not_to_do_in_both_languages() -> None:
    result = _run(Case(code="A0"))
    for c in result.causes:
        assert c.remedy.en and c.remedy.zh and c.avoid.en and c.avoid.zh
        assert c.group == BY_ID[c.cause].group.value
    scores = [c.score for c in result.causes]
    assert scores == sorted(scores, reverse=True)


def test_an_unknown_question_or_answer_id_is_refused() -> None:
    from possettle.support.errors import UnknownIdError

    with pytest.raises(UnknownIdError, match="no question 'colour'"):
        _run(Case(answers={"colour": "red"}))
    with pytest.raises(UnknownIdError, match="question 'paper' has no answer 'wet'"):
        _run(Case(answers={"paper": "wet"}))
    with pytest.raises(UnknownIdError, match="no acquirer 'acme'"):
        _run(Case(acquirer="acme"))


def test_a_code_spelt_out_by_its_meaning_counts_as_the_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Merchants read "57 不允许持卡人进行的交易" off the screen; the brackets are lost."""
    fake_screens(monkeypatch)
    result = _run(Case(screen="57 不允许持卡人进行的交易", acquirer="cup"))
    assert result.read[0].matched == ("57",)
    assert _top(result) == "permission.denied"
    # a meaning several codes share names none of them
    shared = _run(Case(screen="交易成功，请向发卡行确认"))
    assert shared.read[0].matched == ()


def test_not_knowing_the_acquirer_moves_nothing_and_knowing_it_can() -> None:
    """possettle's host alone tracks terminal reports: saying the terminal is possettle's
    makes telemetry.missing likelier; not saying which acquirer leaves the priors alone."""
    from possettle.support import model

    nothing = _run(Case(answers={"acquirer": "unknown", "paper": "ok"}))
    paper_only = _run(Case(answers={"paper": "ok"}))
    assert [(c.cause, c.score) for c in nothing.causes] == [
        (c.cause, c.score) for c in paper_only.causes
    ]
    ours = _run(Case(acquirer="possettle", answers={"paper": "ok"}))
    theirs = _run(Case(acquirer="lakala", answers={"paper": "ok"}))

    def score(r: Result, cause: str) -> float:
        return next((c.score for c in r.causes if c.cause == cause), 0.0)

    assert score(ours, "telemetry.missing") > 3 * model.prior()["telemetry.missing"]
    assert score(ours, "telemetry.missing") > 5 * score(theirs, "telemetry.missing")

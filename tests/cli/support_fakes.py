"""A small stand-in for the support desk's engine, questions and acquirers (the core branch
builds the real ones): the CLI's own behaviour — options, errors, prompts, output — is tested
against it, with a ranking simple enough to know in advance.

Two causes: paper out and a reversal the terminal gave up. Questions: ``slip_printed`` then
``paper``; "paper empty" makes paper out certain, "slip printed: no" plus the screen's 冲正
makes the reversal certain.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest

from possettle.catalogs import Text
from possettle.support.case import Case
from possettle.support.result import (
    Answered,
    Choice,
    Question,
    RankedCause,
    Read,
    Result,
    Said,
)

UNKNOWN = Choice("unknown", "I don't know", "不知道")
QUESTIONS = (
    Question(
        "slip_printed",
        "Did a settlement slip print?",
        "结算单打出来了吗？",
        (Choice("balanced", "Yes, balanced", "打出来了，对账平"),
         Choice("no", "No slip came out", "没有打出结算单"), UNKNOWN),
    ),
    Question(
        "paper",
        "Is there paper in the printer?",
        "打印机里有纸吗？",
        (Choice("ok", "Paper is in", "有纸"), Choice("empty", "No paper", "没纸了"), UNKNOWN),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Acquirer:
    id: str
    en: str
    zh: str


ACQUIRERS = (
    Acquirer("cup", "A CUP acquirer", "银联标准收单机构"),
    Acquirer("lakala", "Lakala", "拉卡拉"),
)


def _cause(cause: str, score: float, evidence: tuple[Said, ...]) -> RankedCause:
    return RankedCause(
        cause, "hardware", score, evidence,
        Text(f"remedy for {cause}", f"{cause} 的处理"),
        Text(f"avoid for {cause}", f"{cause} 不要做"),
    )  # fmt: skip


def diagnose(case: Case, *, clock: Any = None) -> Result:
    a = dict(case.answers)
    read: list[Read] = []
    paper, rev = 0.5, 0.5
    evidence_p: list[Said] = []
    evidence_r: list[Said] = []
    if case.screen:
        hit = "冲正" in case.screen
        read.append(Read("screen", case.screen, ("reversal_failed",) if hit else ()))
        if hit:
            rev += 0.2
            evidence_r.append(
                Said("screen.reversal_failed", "the screen said 冲正", "屏幕提示冲正")
            )
    if case.photo:
        read.append(Read("photo", "(photo)", ()))
    if a.get("slip_printed") == "no":
        rev += 0.2
        evidence_r.append(Said("answer.slip_printed.no", "no slip printed", "没有打出结算单"))
    if a.get("paper") == "empty":
        paper, rev = 0.95, 0.05
        evidence_p.append(Said("answer.paper.empty", "you said no paper", "你说没纸了"))
    total = paper + rev
    causes = sorted(
        [_cause("printer.paper_out", paper / total, tuple(evidence_p)),
         _cause("reversal.abandoned", rev / total, tuple(evidence_r))],
        key=lambda c: -c.score,
    )  # fmt: skip
    left = [q for q in QUESTIONS if q.id not in a]
    top = causes[0].score
    stop = "confident" if top >= 0.8 else ("asking" if left else "no_question_helps")
    answered = tuple(
        Answered(q, aid, "you", Text(f"{q}={aid}", f"{q}={aid}")) for q, aid in a.items()
    )
    return Result(
        tuple(causes), left[0] if stop == "asking" else None, tuple(read), answered,
        {"tid": case.tid or "", "photo": bool(case.photo)}, stop,
    )  # fmt: skip


def install(monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    """Put the fakes where the CLI imports them from: for a test, through ``monkeypatch``
    (undone after it); for a subprocess, for good (before the app runs)."""
    questions = types.ModuleType("possettle.support.questions")
    questions.all_questions = lambda: QUESTIONS  # type: ignore[attr-defined]
    acquirers = types.ModuleType("possettle.support.acquirers")
    acquirers.all_acquirers = lambda: ACQUIRERS  # type: ignore[attr-defined]
    import possettle.support.engine as engine

    if monkeypatch is None:
        sys.modules[questions.__name__] = questions
        sys.modules[acquirers.__name__] = acquirers
        engine.diagnose = diagnose  # type: ignore[assignment]
        return
    monkeypatch.setitem(sys.modules, questions.__name__, questions)
    monkeypatch.setitem(sys.modules, acquirers.__name__, acquirers)
    monkeypatch.setattr(engine, "diagnose", diagnose)

"""What the support desk answers for one step: ranked causes, the next question, what it read.

``Result.as_dict()`` is the JSON of ``possettle support diagnose --json`` (docs/support.md)::

    {"causes": [{"cause", "group", "score", "evidence": [{"en", "zh", ...}],
                 "remedy": {"en", "zh"}, "avoid": {"en", "zh"}}],
     "next_question": {"id", "en", "zh", "answers": [{"id", "en", "zh"}]} | null,
     "read": [{"source": "screen|code|photo", "text", "matched"}],
     "answered": {"<question id>": {"answer", "by": "you|data", "en", "zh"}},
     "escalation": {...},
     "stop": "confident|no_question_helps|asking"}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from possettle.catalogs import Text

Source = Literal["screen", "code", "photo"]


@dataclass(frozen=True, slots=True)
class Said:
    """One piece of evidence behind a ranked cause, in both languages.

    ``key`` is stable (``answer.slip_printed.no``, ``screen.reversal_failed``, ``code.A0``).
    """

    key: str
    en: str
    zh: str

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "en": self.en, "zh": self.zh}


@dataclass(frozen=True, slots=True)
class RankedCause:
    cause: str
    group: str
    score: float
    evidence: tuple[Said, ...]
    remedy: Text
    avoid: Text

    def as_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "group": self.group,
            "score": round(self.score, 3),
            "evidence": [e.as_dict() for e in self.evidence],
            "remedy": {"en": self.remedy.en, "zh": self.remedy.zh},
            "avoid": {"en": self.avoid.en, "zh": self.avoid.zh},
        }


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    en: str
    zh: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "en": self.en, "zh": self.zh}


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    en: str
    zh: str
    answers: tuple[Choice, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "en": self.en,
            "zh": self.zh,
            "answers": [a.as_dict() for a in self.answers],
        }


@dataclass(frozen=True, slots=True)
class Read:
    """What the desk read from one input and what it recognised there (screen-message ids,
    response codes); ``matched`` is empty when nothing was recognised."""

    source: Source
    text: str
    matched: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "text": self.text, "matched": list(self.matched)}


@dataclass(frozen=True, slots=True)
class Answered:
    question: str
    answer: str
    by: Literal["you", "data"]
    text: Text  # the answer in words ("you said the slip printed")

    def as_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "by": self.by, "en": self.text.en, "zh": self.text.zh}


@dataclass(frozen=True, slots=True)
class Result:
    causes: tuple[RankedCause, ...]
    next_question: Question | None
    read: tuple[Read, ...]
    answered: tuple[Answered, ...]
    escalation: dict[str, Any]
    #: why the interview stops or goes on: "confident" (top cause ≥ 0.8), "no_question_helps",
    #: or "asking"
    stop: str
    notes: tuple[Text, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "causes": [c.as_dict() for c in self.causes],
            "next_question": self.next_question.as_dict() if self.next_question else None,
            "read": [r.as_dict() for r in self.read],
            "answered": {a.question: a.as_dict() for a in self.answered},
            "escalation": self.escalation,
            "stop": self.stop,
            "notes": [{"en": n.en, "zh": n.zh} for n in self.notes],
        }

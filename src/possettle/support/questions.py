"""The support desk's questions (``data/questions.toml``): what a support person asks, the
answers, and for each answer ``P(answer | cause)``.

Each answer carries a ``likelihood`` table ``{cause id = p}`` with a ``default`` for the causes
it does not list; a question's answers are normalised per cause, so each cause's column sums
to 1 (a table of raw weights reads as intended). ``unknown`` ("I don't know") is added to
every question and carries no evidence. The ``acquirer`` question takes its answers from
``data/acquirers.toml``; its likelihoods come from the codes seen (:mod:`.codes`).

>>> q = by_id("paper")
>>> [c.id for c in q.question.answers]
['ok', 'empty', 'fault', 'unknown']
>>> round(sum(q.likelihood[a]["printer.paper_out"] for a in ("ok", "empty", "fault")), 6)
1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from possettle.doctor.catalog import BY_ID
from possettle.support.acquirers import all_acquirers
from possettle.support.datafile import Where, load
from possettle.support.errors import UnknownIdError
from possettle.support.result import Choice, Question
from possettle.support.wording import say

FILE = "questions.toml"
#: answers are read this much sharper than the file's tables (``p ** SHARPNESS``, then
#: normalised per cause): the tables are written as a support person would estimate them,
#: and merchants' answers on the corpus's tuning set are more telling than such estimates
SHARPNESS = 1.5
UNKNOWN = "unknown"
ACQUIRER = "acquirer"


@dataclass(frozen=True, slots=True)
class QuestionData:
    question: Question  # with the ``unknown`` answer last
    #: answer id → cause id → P(answer | cause), every catalog cause, normalised per cause;
    #: empty for the ``acquirer`` question (its likelihoods depend on the codes seen)
    likelihood: Mapping[str, Mapping[str, float]]
    from_acquirers: bool

    @property
    def id(self) -> str:
        return self.question.id

    def choice(self, answer_id: str) -> Choice:
        for c in self.question.answers:
            if c.id == answer_id:
                return c
        known = ", ".join(c.id for c in self.question.answers)
        raise UnknownIdError(f"question {self.id!r} has no answer {answer_id!r} (answers: {known})")


def _unknown() -> Choice:
    text = say("answer.unknown")
    return Choice(UNKNOWN, text.en, text.zh)


def _weights(where: Where, row: Mapping[str, Any]) -> tuple[float, dict[str, float]]:
    raw = row.get("likelihood", {"default": 1.0})
    if not isinstance(raw, Mapping):
        raise where.error("likelihood", "must be a table {default = p, cause id = p}")
    if "default" not in raw:
        raise where.error("likelihood", "needs a default (for the causes it does not list)")
    out: dict[str, float] = {}
    for key, p in raw.items():
        if key != "default" and key not in BY_ID:
            raise where.error(f"likelihood.{key}", "not a cause of doctor/catalog.py")
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            raise where.error(f"likelihood.{key}", f"must be a probability 0..1, not {p!r}")
        out[key] = float(p)
    return out.pop("default"), out


def _question(qid: str, row: Any) -> QuestionData:
    where = Where(FILE, qid)
    row = where.table_of(row)
    where.only(row, {"en", "zh", "answers", "answers_from"})
    en, zh = where.text(row, "en"), where.text(row, "zh")
    if row.get("answers_from") is not None:
        if row["answers_from"] != "acquirers":
            raise where.error("answers_from", "the only list to take answers from is 'acquirers'")
        firms = tuple(Choice(a.id, a.en, a.zh) for a in all_acquirers())
        return QuestionData(Question(qid, en, zh, (*firms, _unknown())), {}, True)
    answers = row.get("answers")
    if not isinstance(answers, Mapping) or len(answers) < 2:
        raise where.error("answers", "needs at least two [<question>.answers.<id>] tables")
    if UNKNOWN in answers:
        raise where.error(f"answers.{UNKNOWN}", "is added to every question; do not list it")
    choices: list[Choice] = []
    weights: dict[str, tuple[float, dict[str, float]]] = {}
    for aid, arow in answers.items():
        awhere = Where(FILE, f"{qid}.answers.{aid}")
        arow = awhere.table_of(arow)
        awhere.only(arow, {"en", "zh", "likelihood"})
        choices.append(Choice(aid, awhere.text(arow, "en"), awhere.text(arow, "zh")))
        weights[aid] = _weights(awhere, arow)
    likelihood: dict[str, dict[str, float]] = {aid: {} for aid in weights}
    for cause_id in BY_ID:
        column = {
            aid: table.get(cause_id, default) ** SHARPNESS
            for aid, (default, table) in weights.items()
        }
        total = sum(column.values())
        if total <= 0:
            raise where.error("answers", f"every answer has likelihood 0 for {cause_id}")
        for aid, p in column.items():
            likelihood[aid][cause_id] = p / total
    frozen = MappingProxyType({a: MappingProxyType(t) for a, t in likelihood.items()})
    return QuestionData(Question(qid, en, zh, (*choices, _unknown())), frozen, False)


def parse(doc: Mapping[str, Any]) -> tuple[QuestionData, ...]:
    return tuple(_question(qid, row) for qid, row in doc.items())


@cache
def _all() -> tuple[QuestionData, ...]:
    return parse(load(FILE))


def all_question_data() -> tuple[QuestionData, ...]:
    return _all()


def all_questions() -> tuple[Question, ...]:
    """Every question with its answers (``unknown`` last), in the file's order."""
    return tuple(q.question for q in _all())


def by_id(qid: str) -> QuestionData:
    for q in _all():
        if q.id == qid:
            return q
    known = ", ".join(q.id for q in _all())
    raise UnknownIdError(f"no question {qid!r} (questions: {known})")

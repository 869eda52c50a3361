"""One step of the support interview: :func:`diagnose`.

It reads what was reported (the screen text, the code, a photo of the screen, the answers so
far, and — when the terminal is one of possettle's own — facts from its data), turns each into
Bayes factors over the doctor's causes, ranks them with :mod:`.model`, picks the next question
by expected information gain, and says for every ranked cause why (its evidence), what to do
and what not to do, and what to give the acquirer (the escalation package).

A question whose answer the data has is never asked (``Answered.by == "data"``). When a code
means different things on different hosts and the acquirer is not known, the first question
is ``acquirer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from possettle.catalogs import Text
from possettle.clock import Clock, SystemClock
from possettle.doctor.catalog import BY_ID
from possettle.doctor.likelihoods import FACTORS
from possettle.iso8583.cup import CupCategory
from possettle.support import codes as coderead
from possettle.support import model
from possettle.support.acquirers import Acquirer, acquirer, all_acquirers
from possettle.support.case import Case
from possettle.support.errors import PhotoError, UnknownIdError
from possettle.support.questions import ACQUIRER, UNKNOWN, all_question_data, by_id
from possettle.support.result import Answered, Question, RankedCause, Read, Result, Said
from possettle.support.wording import say

#: causes listed: at least this many, and every other cause at least this likely
LIST_AT_LEAST = 5
LIST_ABOVE = 0.01
#: a signal counts as evidence for a cause when it multiplies its odds by at least this
EVIDENCE_FACTOR = 2.0
UNDETECTED = "external.undetected"


@dataclass
class _Signal:
    key: str
    factors: Mapping[str, float]
    said: Said


@dataclass
class _Step:
    """What one call gathers before ranking."""

    reads: list[Read] = field(default_factory=list)
    signals: list[_Signal] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    notes: list[Text] = field(default_factory=list)
    answers: dict[str, tuple[str, str]] = field(default_factory=dict)  # qid → (answer, by)
    escalation: dict[str, Any] = field(default_factory=dict)


def diagnose(case: Case, *, clock: Clock | None = None) -> Result:
    """Rank the causes of a failed settlement for ``case``, and say what to ask next."""
    clock = clock or SystemClock()
    step = _Step()
    _read_text(step, case.screen, "screen")
    if case.photo is not None:
        _read_photo(step, case.photo)
    if case.code:
        step.codes.insert(0, case.code.strip().upper())
        step.reads.insert(0, Read("code", case.code.strip(), (case.code.strip().upper(),)))
    step.codes = list(dict.fromkeys(step.codes))
    _our_facts(step, case, clock)
    _answers(step, case)
    acq = _acquirer_answer(step)
    per_acq = coderead.per_acquirer(step.codes)
    _code_signals(step, acq, per_acq)
    return _result(step, acq, per_acq)


# --- reading ------------------------------------------------------------------------------


def _read_text(step: _Step, text: str | None, source: str) -> None:
    if not text or not text.strip():
        return
    from possettle.support.match import read_screen

    reading = read_screen(text)
    named = coderead.codes_named(reading.text)
    matched = tuple(m.id for m in reading.screens) + tuple(dict.fromkeys((*reading.codes, *named)))
    step.reads.append(Read("photo" if source == "photo" else "screen", reading.text, matched))
    key = "evidence.photo" if source == "photo" else "evidence.screen"
    for m in reading.screens:
        # a partial match counts in proportion to how well it matched
        factors = {c: f ** max(0.0, min(1.0, m.score)) for c, f in m.factors.items()}
        step.signals.append(
            _Signal(
                f"{source}.{m.id}",
                factors,
                _said(f"{source}.{m.id}", key, shown=m.shown, meaning=m.meaning),
            )
        )
        if m.code:
            step.codes.append(m.code.upper())
    step.codes.extend(c.upper() for c in reading.codes)
    step.codes.extend(coderead.codes_named(reading.text))
    if reading.not_a_cause is not None:
        step.notes.append(reading.not_a_cause)
    if not matched:
        step.notes.append(say("note.screen_unread"))


def _read_photo(step: _Step, photo: bytes) -> None:
    from possettle.support.ocr import photo_text

    try:
        text = photo_text(photo)
    except PhotoError as exc:
        step.notes.append(say("note.photo_unread", reason=str(exc)))
        step.reads.append(Read("photo", "", ()))
        return
    if text.strip():
        _read_text(step, text, "photo")
    else:
        step.reads.append(Read("photo", "", ()))
    step.escalation["photo"] = True


def _said(key: str, sentence: str, **values: object) -> Said:
    text = say(sentence, **values)
    return Said(key, text.en, text.zh)


# --- our own terminal's facts, and the answers ---------------------------------------------


def _our_facts(step: _Step, case: Case, clock: Clock) -> None:
    if case.host_db is None and case.terminal_dir is None:
        return
    from possettle.support.ours import facts

    ours = facts(case, clock=clock)
    if ours is None:
        return
    for qid, aid in ours.answers.items():
        by_id(qid).choice(aid)  # an id the data file lacks is our bug: fail loudly
        step.answers[qid] = (aid, "data")
    for key, evidence in ours.signals.items():
        factors = FACTORS.get(key)
        if factors is None:
            raise UnknownIdError(
                f"our facts gave signal {key!r}, which doctor/likelihoods.py lacks"
            )
        said = evidence[0] if evidence else Said(key, key, key)
        step.signals.append(_Signal(key, factors, said))
    step.escalation.update(ours.escalation)
    step.notes.extend(ours.notes)


def _answers(step: _Step, case: Case) -> None:
    for qid, aid in case.answers.items():
        by_id(qid).choice(aid)
        if qid not in step.answers:  # the data's answer stands: it was never asked
            step.answers[qid] = (aid, "you")
    if case.acquirer and ACQUIRER not in step.answers:
        acquirer(case.acquirer)
        step.answers[ACQUIRER] = (case.acquirer, "you")
    if case.model and "model" not in step.answers:
        found = _model_answer(case.model)
        if found:
            step.answers["model"] = (found, "you")


def _model_answer(text: str) -> str | None:
    """The brand answer a free-text model names ("PAX A920" → ``pax``), if any."""
    low = text.lower()
    for choice in by_id("model").question.answers:
        if choice.id in ("other", UNKNOWN):
            continue
        names = {choice.id, choice.en.split(" (")[0].lower(), choice.zh.split("（")[0]}
        if any(n and n in low for n in names):
            return choice.id
    return None


def _acquirer_answer(step: _Step) -> Acquirer | None:
    given = step.answers.get(ACQUIRER)
    if given is None or given[0] == UNKNOWN:
        return None
    return acquirer(given[0])


# --- codes --------------------------------------------------------------------------------


def _code_signals(
    step: _Step, acq: Acquirer | None, per_acq: Mapping[str, Mapping[str, float]]
) -> None:
    for code in step.codes:
        readings = {a.id: coderead.meaning(code, a) for a in all_acquirers()}
        if acq is not None:
            here = readings[acq.id]
        else:  # the CUP meaning, or the first host's that knows the code
            here = next(
                (m for m in (readings["cup"], *readings.values()) if m.meaning is not None),
                readings["cup"],
            )
        if here.meaning is None:
            step.notes.append(say("note.code_unknown", code=code))
            continue
        if here.category is CupCategory.A:
            step.notes.append(say("note.code_approved", code=code, meaning=here.meaning))
        elif not here.factors and acq is not None:
            step.notes.append(say("note.code_not_settlement", code=code, meaning=here.meaning))
        other = next((m for m in readings.values() if _key(m.factors) != _key(here.factors)), None)
        if acq is None and other is not None:
            said = _said(
                f"code.{code}",
                "evidence.code_mixed",
                code=code,
                meaning=here.meaning,
                where=here.where,
                other=other.meaning or say("note.code_unknown", code=code),
                other_where=other.where,
            )
            factors = coderead.mixture({a: r.factors for a, r in readings.items()})
        else:
            if acq is None and not here.factors and here.category is not CupCategory.A:
                step.notes.append(say("note.code_not_settlement", code=code, meaning=here.meaning))
            said = _said(
                f"code.{code}", "evidence.code", code=code, meaning=here.meaning, where=here.where
            )
            factors = dict(here.factors)
        step.signals.append(_Signal(f"code.{code}", factors, said))


def _key(factors: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((c, round(f, 6)) for c, f in factors.items() if abs(f - 1.0) > 1e-9))


def _ambiguous(per_acq: Mapping[str, Mapping[str, float]], base: Mapping[str, float]) -> bool:
    """The top cause depends on which acquirer's host read the codes."""
    tops = {
        model.top(model.normalise({c: p * f.get(c, 1.0) for c, p in base.items()}))[0]
        for f in per_acq.values()
    }
    return len(tops) > 1


# --- ranking, the next question, the result -------------------------------------------------


def _likelihoods(
    step: _Step, per_acq: Mapping[str, Mapping[str, float]]
) -> dict[str, Mapping[str, Mapping[str, float]]]:
    out: dict[str, Mapping[str, Mapping[str, float]]] = {}
    for q in all_question_data():
        out[q.id] = coderead.acquirer_likelihood(per_acq) if q.from_acquirers else q.likelihood
    return out


def _result(
    step: _Step, acq: Acquirer | None, per_acq: Mapping[str, Mapping[str, float]]
) -> Result:
    likelihoods = _likelihoods(step, per_acq)
    tables: list[Mapping[str, float]] = [s.factors for s in step.signals]
    answered: list[Answered] = []
    answer_said: list[tuple[Mapping[str, float], Said]] = []
    base = model.prior()
    for qid, (aid, by) in step.answers.items():
        q = by_id(qid)
        choice = q.choice(aid)
        text = say(f"answered.{by}", answer=Text(choice.en, choice.zh))
        answered.append(Answered(qid, aid, "data" if by == "data" else "you", text))
        if aid == UNKNOWN:
            continue  # "I don't know" carries no evidence
        if q.from_acquirers:  # its codes are read on its host (_code_signals); and its fleet
            lik: Mapping[str, float] = coderead.likely(acquirer(aid))
            tables.append(lik)
            if any(f >= EVIDENCE_FACTOR for f in lik.values()):
                key = "evidence.data" if by == "data" else "evidence.answer"
                said = _said(f"answer.{qid}.{aid}", key, answer=Text(choice.en, choice.zh))
                answer_said.append((lik, said))
            continue
        lik = likelihoods[qid][aid]
        tables.append(lik)
        p_a = sum(lik.get(c, 0.0) * p for c, p in base.items())
        ratio = {c: lik.get(c, 0.0) / p_a for c in base} if p_a > 0 else {}
        key = "evidence.data" if by == "data" else "evidence.answer"
        answer_said.append(
            (ratio, _said(f"answer.{qid}.{aid}", key, answer=Text(choice.en, choice.zh)))
        )
    post = model.posterior(tables)
    informative = any(_informative(s.factors) for s in step.signals) or bool(answer_said)

    asked = set(step.answers)
    candidates = {q: lik for q, lik in likelihoods.items() if q not in asked}
    code_base = model.posterior([s.factors for s in step.signals if not s.key.startswith("code.")])
    next_id: str | None
    by_host = {a.id: coderead.joint(step.codes, a) for a in all_acquirers()}
    if ACQUIRER in candidates and step.codes and _ambiguous(by_host, code_base):
        next_id, best_gain = ACQUIRER, model.gain(post, candidates[ACQUIRER])
        stop = "asking"
    else:
        next_id, best_gain = model.best(post, candidates)
        stop = model.stop_reason(post, best_gain, any_left=bool(candidates))
    next_question: Question | None = (
        by_id(next_id).question if stop == "asking" and next_id else None
    )

    causes = _ranked(post, step, answer_said, informative)
    if not informative:
        step.notes.insert(0, say("note.nothing_known"))
    if acq is not None and acq.overrides:
        step.notes.append(say("note.acquirer", name=Text(acq.en, acq.zh), about=acq.about))
    return Result(
        causes=tuple(causes),
        next_question=next_question,
        read=tuple(step.reads),
        answered=tuple(answered),
        escalation=_escalation(step, acq, causes[0].cause),
        stop=stop,
        notes=tuple(dict.fromkeys(step.notes)),
    )


def _informative(factors: Mapping[str, float]) -> bool:
    return any(abs(f - 1.0) > 1e-6 for f in factors.values())


def _ranked(
    post: Mapping[str, float],
    step: _Step,
    answer_said: list[tuple[Mapping[str, float], Said]],
    informative: bool,
) -> list[RankedCause]:
    if not informative:
        # Nothing known points anywhere: never "nothing wrong" — unknown, with what to collect.
        best_other = max(p for c, p in post.items() if c != UNDETECTED)
        return [_cause(UNDETECTED, 1.0 - best_other, (_said("nothing", "evidence.nothing"),))]
    out = []
    for i, (cause_id, p) in enumerate(model.ranked(post)):
        if i >= LIST_AT_LEAST and p < LIST_ABOVE:
            break
        evidence = [s.said for s in step.signals if s.factors.get(cause_id, 1.0) >= EVIDENCE_FACTOR]
        evidence += [said for ratio, said in answer_said if ratio.get(cause_id, 0.0) >= 1.5]
        out.append(_cause(cause_id, p, tuple(dict.fromkeys(evidence))))
    return out


def _cause(cause_id: str, score: float, evidence: tuple[Said, ...]) -> RankedCause:
    cause = BY_ID[cause_id]
    return RankedCause(
        cause=cause_id,
        group=cause.group.value,
        score=score,
        evidence=evidence,
        remedy=say(f"cause.{cause_id}.remedy"),
        avoid=say(f"cause.{cause_id}.avoid"),
    )


#: what the acquirer asks for, in the order they ask; the keys of ``OurFacts.escalation`` that
#: fill each (research/screens.md §2b step 7)
_ITEMS: dict[str, tuple[str, ...]] = {
    "tid": ("tid",),
    "mid": ("mid", "merchant"),
    "serial": ("serial", "sn"),
    "batch": ("batch",),
    "trace": ("stan", "trace", "stans"),
    "reference": ("rrn", "reference", "rrns"),
    "time": ("time", "when", "settle_time"),
    "photo": ("photo",),
}


def _escalation(step: _Step, acq: Acquirer | None, top: str) -> dict[str, Any]:
    known: dict[str, Any] = {}
    used: set[str] = set()
    for item, keys in _ITEMS.items():
        for k in keys:
            if step.escalation.get(k) not in (None, "", [], False):
                known[item] = step.escalation[k]
                used.add(k)
                break
    items = list(_ITEMS)
    if top == "reversal.abandoned":
        items.append("amount")
    collect = [i for i in items if i not in known]
    words = {i: say(f"escalation.item.{i}") for i in items}
    out: dict[str, Any] = {
        "en": say("escalation.intro").en,
        "zh": say("escalation.intro").zh,
        "known": {i: {"value": v, "en": words[i].en, "zh": words[i].zh} for i, v in known.items()},
        "collect": [{"id": i, "en": words[i].en, "zh": words[i].zh} for i in collect],
        "codes": list(step.codes),
        "screen": next(
            (r.text for r in step.reads if r.source in ("screen", "photo") and r.text), None
        ),
        "acquirer": {"id": acq.id, "en": acq.en, "zh": acq.zh} if acq else None,
        # everything else our data knows (the failed batch, the last transaction's time …)
        "details": {k: v for k, v in step.escalation.items() if k not in used and k != "photo"},
    }
    return out

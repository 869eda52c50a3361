"""A response code as evidence: what it means on an acquirer's host, and the Bayes factors it
gives the causes of a failed settlement.

On a host that reads the CUP table, a code's factors are the doctor's (``likelihoods.FACTORS``
for the signal possettle's dialect gives the code, :mod:`possettle.iso8583.codes`), or, for a
code only the CUP table has, :data:`CUP_FACTOR` on the cause its row names. An acquirer's
override (``data/acquirers.toml``) replaces them, in proportion to its ``share``.

When the acquirer is not known, a code reads as the mixture over every acquirer (each equally
likely): ``f(c) = mean_a f_a(c)``. Learning the acquirer ``a`` later multiplies by
``P(a | c) = f_a(c) / Σ_a' f_a'(c)`` — together exactly ``f_a(c)`` up to a constant — which is
how the ``acquirer`` question gets its likelihoods and its information gain (:mod:`.model`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from possettle.catalogs import Text
from possettle.doctor.likelihoods import FACTORS
from possettle.iso8583 import codes as dialect
from possettle.iso8583.cup import CupCategory, find
from possettle.iso8583.cup import table as cup_table
from possettle.support.acquirers import Acquirer, all_acquirers
from possettle.support.wording import say

#: the factor of a code only the CUP table has, on the cause its row names: strong (the host
#: said so), on the scale of the doctor's response-code factors (30–300)
CUP_FACTOR = 50.0


@dataclass(frozen=True, slots=True)
class CodeMeaning:
    code: str
    meaning: Text | None  # None: no table we know has the code
    where: Text  # "the CUP table", "Qianbao's host (source CTM)"
    category: CupCategory | None
    factors: Mapping[str, float]


def _standard(code: str, table: str) -> tuple[Text | None, dict[str, float]]:
    rc = dialect.CODES.get(code)
    row = find(code)
    if table == "possettle" and rc is not None:
        signal = rc.doctor_signal
        return Text(rc.en, rc.zh), dict(FACTORS.get(signal, {})) if signal else {}
    if row is None:
        return None, {}
    if rc is not None:  # the dialect and the CUP table agree on the cause (tests/iso8583)
        signal = rc.doctor_signal
        factors = dict(FACTORS.get(signal, {})) if signal else {}
    else:
        factors = {row.cause: CUP_FACTOR} if row.cause else {}
    return Text(row.en, row.zh), factors


def _mix(share: float, a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    """``share`` of ``a`` and the rest of ``b``, cause by cause (a missing cause is 1)."""
    return {c: share * a.get(c, 1.0) + (1 - share) * b.get(c, 1.0) for c in {*a, *b}}


def meaning(code: str, acq: Acquirer) -> CodeMeaning:
    code = code.upper()
    row = find(code)
    category = row.category if row else None
    text, factors = _standard(code, acq.table)
    where = say("where.dialect") if acq.table == "possettle" else say("where.cup")
    override = acq.overrides.get(code)
    if override is None:
        return CodeMeaning(code, text, where, category, factors)
    name = Text(acq.en, acq.zh)
    mixed = _mix(override.share, override.factors, factors)
    if acq.id == "other":  # a source whose acquirer is not named: do not call it a name
        where = say("where.unnamed", source=override.source)
    else:
        where = say("where.acquirer", name=name, source=override.source)
    return CodeMeaning(code, Text(override.en, override.zh), where, None, mixed)


def joint(codes: Iterable[str], acq: Acquirer) -> dict[str, float]:
    """The factors of several codes read on one acquirer's host (their product)."""
    out: dict[str, float] = {}
    for code in codes:
        for cause_id, f in meaning(code, acq).factors.items():
            out[cause_id] = out.get(cause_id, 1.0) * f
    return out


def likely(acq: Acquirer) -> dict[str, float]:
    """The acquirer's ``likely`` weights, normalised so that their mean over the acquirers is
    1 for every cause: knowing the acquirer moves the ranking, not knowing it does not."""
    everyone = all_acquirers()
    causes = {c for a in everyone for c in a.likely}
    mean = {c: sum(a.likely.get(c, 1.0) for a in everyone) / len(everyone) for c in causes}
    return {c: acq.likely.get(c, 1.0) / mean[c] for c in causes}


def per_acquirer(codes: Iterable[str]) -> dict[str, dict[str, float]]:
    """Acquirer id → the codes' joint factors on its host, times how likely each cause is to
    be reported from its terminals."""
    codes = tuple(codes)
    out = {}
    for a in all_acquirers():
        factors = joint(codes, a)
        for c, w in likely(a).items():
            factors[c] = factors.get(c, 1.0) * w
        out[a.id] = factors
    return out


def mixture(per_acq: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """The codes' factors when the acquirer is unknown (each acquirer equally likely)."""
    causes = {c for f in per_acq.values() for c in f}
    n = len(per_acq)
    return {c: sum(f.get(c, 1.0) for f in per_acq.values()) / n for c in causes}


def acquirer_likelihood(per_acq: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """``P(acquirer a | cause c)`` given the codes: answer id → cause id → probability, for
    the causes any acquirer's reading names (every other cause: uniform, no evidence)."""
    causes = {c for f in per_acq.values() for c in f}
    total = {c: sum(f.get(c, 1.0) for f in per_acq.values()) for c in causes}
    return {a: {c: f.get(c, 1.0) / total[c] for c in causes} for a, f in per_acq.items()}


#: a meaning shorter than this is everyday words ("出错", "无效交易"), not a code's name
_NAMED_AT_LEAST = 5
_NOT_WORD = re.compile(r"[\W_]+")


def _bare(text: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text))


@cache
def _named() -> tuple[tuple[str, str], ...]:
    """(bare meaning, code) for every code meaning long enough to name its code, longest
    first: the CUP table's and every acquirer override's."""
    pairs = {(_bare(r.zh), c) for c, r in cup_table().items()}
    pairs |= {(_bare(o.zh), o.code) for a in all_acquirers() for o in a.overrides.values()}
    codes_of: dict[str, set[str]] = {}
    for meaning, code in pairs:
        codes_of.setdefault(meaning, set()).add(code)
    # a meaning several codes share names none of them
    named = [
        (m, next(iter(cs)))
        for m, cs in codes_of.items()
        if len(cs) == 1 and len(m) >= _NAMED_AT_LEAST
    ]
    return tuple(sorted(named, key=lambda p: (-len(p[0]), p[1])))


def codes_named(text: str) -> tuple[str, ...]:
    """The codes whose meaning the text spells out ("57 不允许持卡人进行的交易" → 57): a
    merchant reads the meaning off the screen even when the code's brackets are lost."""
    bare = _bare(text)
    return tuple(dict.fromkeys(code for meaning, code in _named() if meaning in bare))

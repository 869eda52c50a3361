"""The support desk's ranking: one model with the doctor's.

Priors are the catalog's (:attr:`possettle.doctor.catalog.Cause.prior`); evidence is Bayes
factors on the doctor's scale — ``likelihoods.FACTORS`` for response codes and possettle's own
signals, ``ScreenMatch.factors`` for screen messages — and, for interview answers,
``P(answer | cause)`` from ``data/questions.toml``.

The doctor scores each cause on its own: ``odds(c) = prior(c) / (1 − prior(c)) × Π f(c)``,
asking "is it this cause, or anything else?" for every cause, so two causes can both pass its
threshold. The support desk assumes one cause behind the failure (the causes exclude each
other) and normalises: ``P(c | evidence) = prior(c) × Π f(c) / Σ_c' prior(c') × Π f(c')``.
A factor is a likelihood ratio ``P(signal | c) / P(signal | other)``; with the same reference
for every cause, the normalisation cancels it, so the doctor's factors enter unchanged. For a
cause only one signal speaks of, the two agree in ranking: the odds are the posterior before
normalising.

The interview asks next the question with the greatest expected information gain over the
current posterior: ``H(P) − Σ_a P(a) H(P | a)``, with ``P(a) = Σ_c P(a | c) P(c)``. It stops when
the top cause reaches :data:`STOP_AT`, or when no question is expected to gain more than
:data:`MIN_GAIN` bits (or none is left).

>>> post = posterior([{"printer.paper_out": 400.0}])
>>> top(post)[0], round(top(post)[1], 3)
('printer.paper_out', 0.954)
>>> gain(post, {"yes": {"printer.paper_out": 0.9}, "no": {"printer.paper_out": 0.1}}) > 0
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from possettle.doctor.catalog import CAUSES

#: the interview stops when the top cause is at least this likely
STOP_AT = 0.8
#: a question expected to tell less than this (bits) does not help
MIN_GAIN = 0.02

CAUSE_IDS: tuple[str, ...] = tuple(c.id for c in CAUSES)

Likelihood = Mapping[str, Mapping[str, float]]  # answer id → cause id → P(answer | cause)


def prior() -> dict[str, float]:
    """The catalog's priors, normalised over the causes."""
    total = sum(c.prior for c in CAUSES)
    return {c.id: c.prior / total for c in CAUSES}


def normalise(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    if total <= 0:  # every cause ruled out: evidence contradicts itself; fall back to priors
        return prior()
    return {c: w / total for c, w in weights.items()}


def posterior(factors: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """``normalise(prior × Π factors)``; a cause a table does not name has factor 1."""
    weights = prior()
    for table in factors:
        for cause_id, f in table.items():
            if cause_id in weights:
                weights[cause_id] *= f
    return normalise(weights)


def entropy(p: Mapping[str, float] | Iterable[float]) -> float:
    values = p.values() if isinstance(p, Mapping) else p
    return -sum(x * math.log2(x) for x in values if x > 0)


def _column(likelihood: Likelihood, answer: str, cause_id: str, n: int) -> float:
    return likelihood[answer].get(cause_id, 1.0 / n)


def predictive(post: Mapping[str, float], likelihood: Likelihood) -> dict[str, float]:
    """``P(a) = Σ_c P(a | c) P(c)`` for every answer (a cause an answer's table does not name
    gets ``1 / number of answers``: that answer tells nothing about it)."""
    n = len(likelihood)
    return {
        a: sum(_column(likelihood, a, c, n) * p for c, p in post.items() if p > 0)
        for a in likelihood
    }


def update(post: Mapping[str, float], likelihood: Likelihood, answer: str) -> dict[str, float]:
    n = len(likelihood)
    return normalise({c: p * _column(likelihood, answer, c, n) for c, p in post.items()})


def gain(post: Mapping[str, float], likelihood: Likelihood) -> float:
    """Expected information gain (bits) of asking a question with these likelihoods."""
    if len(likelihood) < 2:
        return 0.0
    h = entropy(post)
    n = len(likelihood)
    expected = 0.0
    for a, pa in predictive(post, likelihood).items():
        if pa <= 0:
            continue
        after = [p * _column(likelihood, a, c, n) / pa for c, p in post.items() if p > 0]
        expected += pa * entropy(after)
    return max(0.0, h - expected)


def best(
    post: Mapping[str, float], candidates: Mapping[str, Likelihood]
) -> tuple[str | None, float]:
    """The candidate question with the greatest gain, and that gain (ties: the file's order)."""
    chosen, chosen_gain = None, 0.0
    for qid, likelihood in candidates.items():
        g = gain(post, likelihood)
        if g > chosen_gain + 1e-12:
            chosen, chosen_gain = qid, g
    return chosen, chosen_gain


def top(post: Mapping[str, float]) -> tuple[str, float]:
    cause_id = max(post, key=lambda c: (post[c], -CAUSE_IDS.index(c)))
    return cause_id, post[cause_id]


def ranked(post: Mapping[str, float]) -> list[tuple[str, float]]:
    """Causes most likely first (ties: the catalog's order)."""
    return sorted(post.items(), key=lambda kv: (-kv[1], CAUSE_IDS.index(kv[0])))


def stop_reason(post: Mapping[str, float], best_gain: float, *, any_left: bool) -> str:
    """``confident`` (top ≥ :data:`STOP_AT`), ``no_question_helps``, or ``asking``."""
    if top(post)[1] >= STOP_AT:
        return "confident"
    if not any_left or best_gain < MIN_GAIN:
        return "no_question_helps"
    return "asking"

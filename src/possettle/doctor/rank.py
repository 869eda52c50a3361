"""Rank causes: rules with decisive evidence first, then the probabilistic ranking.

Each cause starts at its prior (catalog.py); every signal seen multiplies its odds by the
factor likelihoods.FACTORS gives for that cause. Causes no signal points at are not named.
When nothing reaches the threshold but something failed, the answer is
``external.undetected`` with what was ruled out — never "healthy".
"""

from __future__ import annotations

from possettle.doctor.catalog import BY_ID, cause
from possettle.doctor.likelihoods import FACTORS, THRESHOLD
from possettle.doctor.model import Diagnosis, Evidence
from possettle.doctor.signals import Signals
from possettle.doctor.wording import say


def rank(signals: Signals, *, failed: bool, step: str | None) -> list[Diagnosis]:
    step = step or signals.step  # a stop without a settle_failed row still has its step
    odds: dict[str, float] = {}
    evidence: dict[str, list[Evidence]] = {}
    for key, seen in signals.seen.items():
        for cause_id, factor in FACTORS.get(key, {}).items():
            prior = BY_ID[cause_id].prior
            odds.setdefault(cause_id, prior / (1 - prior))
            odds[cause_id] *= factor
            if factor > 1:
                evidence.setdefault(cause_id, []).extend(seen)
    named = {c for c, o in odds.items() if o / (1 + o) >= THRESHOLD and evidence.get(c)}
    # Ruled out: what the probes and views found healthy, and what some evidence pointed at
    # too weakly; never a cause that is itself named.
    weak = {c for c, o in odds.items() if o / (1 + o) < THRESHOLD}
    ruled_out = (set(signals.ruled_out) | weak) - named
    diagnoses = []
    for cause_id, o in odds.items():
        score = o / (1 + o)
        if cause_id in named:
            ruled = sorted(ruled_out - {cause_id})
            diagnoses.append(
                Diagnosis(cause(cause_id), score, _step(cause_id, step), evidence[cause_id], ruled)
            )
    diagnoses.sort(key=lambda d: (-d.score, d.cause.id))
    if failed and not diagnoses:
        # Everything seen goes with it (the acquirer will ask), and what was ruled out.
        seen = [e for evs in signals.seen.values() for e in evs]
        unexplained = Evidence.of("journal", "unexplained", True, say("evidence.unexplained"))
        diagnoses.append(
            Diagnosis(
                cause("external.undetected"),
                0.5,
                step,
                [unexplained, *seen],
                sorted(ruled_out - {"external.undetected"}),
            )
        )
    return diagnoses


def _step(cause_id: str, step: str | None) -> str | None:
    if cause_id.startswith("printer."):
        return "print"
    if cause_id == "reversal.stuck":
        return "reversal"
    if cause_id == "batch.out_of_balance":
        return "batch_upload"
    if cause_id == "batch.already_settled":
        return "settle"  # the 0500 was answered 94
    return step

"""The support desk's ranking and interview: Bayes with the doctor's priors, information gain,
the stop rule (support/model.py)."""

from __future__ import annotations

import math

import pytest

from possettle.doctor.catalog import CAUSES
from possettle.support import model


def test_no_evidence_gives_the_catalogs_priors_normalised() -> None:
    post = model.posterior([])
    total = sum(c.prior for c in CAUSES)
    assert post == pytest.approx({c.id: c.prior / total for c in CAUSES})
    assert sum(post.values()) == pytest.approx(1.0)


def test_the_posterior_is_prior_times_factors_normalised() -> None:
    post = model.posterior([{"printer.paper_out": 400.0}, {"printer.paper_out": 0.5}])
    weights = {c.id: c.prior * (200.0 if c.id == "printer.paper_out" else 1.0) for c in CAUSES}
    total = sum(weights.values())
    assert post["printer.paper_out"] == pytest.approx(weights["printer.paper_out"] / total)


def test_a_question_that_splits_the_top_two_causes_is_chosen_over_one_that_does_not() -> None:
    post = model.posterior([{"printer.paper_out": 50.0, "link.down": 50.0}])
    top_two = {c for c, _ in model.ranked(post)[:2]}
    assert top_two == {"printer.paper_out", "link.down"}
    splits = {
        "yes": {"printer.paper_out": 0.9, "link.down": 0.1},
        "no": {"printer.paper_out": 0.1, "link.down": 0.9},
    }
    # tells a minor cause from the rest, not the two leaders apart
    side = {
        "yes": {"printer.paper_out": 0.5, "link.down": 0.5, "storage.full": 0.9},
        "no": {"printer.paper_out": 0.5, "link.down": 0.5, "storage.full": 0.1},
    }
    assert model.gain(post, splits) > model.gain(post, side)
    assert model.best(post, {"side": side, "splits": splits})[0] == "splits"


def test_the_gain_is_entropy_minus_expected_entropy() -> None:
    post = {"a": 0.5, "b": 0.5}
    perfect = {"x": {"a": 1.0, "b": 0.0}, "y": {"a": 0.0, "b": 1.0}}
    useless = {"x": {"a": 0.5, "b": 0.5}, "y": {"a": 0.5, "b": 0.5}}
    assert model.gain(post, perfect) == pytest.approx(1.0)
    assert model.gain(post, useless) == pytest.approx(0.0)
    assert model.entropy(post) == pytest.approx(1.0)
    assert model.predictive(post, perfect) == pytest.approx({"x": 0.5, "y": 0.5})
    assert model.update(post, perfect, "x") == pytest.approx({"a": 1.0, "b": 0.0})
    assert math.isclose(model.entropy({"a": 1.0}), 0.0, abs_tol=1e-12)


@pytest.mark.parametrize(
    ("factor", "stop"), [(1.0, "asking"), (30.0, "asking"), (400.0, "confident")]
)
def test_the_interview_stops_when_the_top_cause_reaches_0_8(factor: float, stop: str) -> None:
    post = model.posterior([{"keys.out_of_sync": factor}])
    assert (model.top(post)[1] >= model.STOP_AT) is (stop == "confident")
    assert model.stop_reason(post, 0.5, any_left=True) == stop


def test_no_helpful_question_or_none_left_stops_the_interview() -> None:
    post = model.posterior([])
    assert model.stop_reason(post, model.MIN_GAIN / 2, any_left=True) == "no_question_helps"
    assert model.stop_reason(post, 0.5, any_left=False) == "no_question_helps"

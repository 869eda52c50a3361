"""The reversal state machine and its back-off, with the time and the jitter injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from possettle.host.reversals.machine import (
    Outcome,
    after_attempt,
    check_transition,
    classify,
)
from possettle.ledger.kinds import ReversalState
from possettle.upstream.retry import RetryPolicy

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(initial=0.5, factor=2, maximum=4, jitter=0.1)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("00", Outcome.ACKNOWLEDGED),
        ("25", Outcome.ACKNOWLEDGED),  # no such original: nothing left to undo
        ("12", Outcome.ACKNOWLEDGED),
        ("91", Outcome.ASKED_AGAIN),  # issuer unavailable: not processed yet
        ("96", Outcome.ASKED_AGAIN),  # system malfunction: not processed yet
    ],
)
def test_only_a_final_0410_code_acknowledges(code: str, outcome: Outcome) -> None:
    assert classify(code) is outcome


def test_an_acknowledgement_ends_the_reversal_with_the_issuers_code() -> None:
    step = after_attempt(3, Outcome.ACKNOWLEDGED, "00", AT, POLICY, lambda: 0.5)
    assert (step.state, step.attempts, step.next_attempt_at, step.response_code) == (
        ReversalState.ACKNOWLEDGED,
        4,
        None,
        "00",
    )
    assert step.done and step.last_outcome == "acknowledged (00)"


@pytest.mark.parametrize(
    "outcome", [Outcome.NO_REPLY, Outcome.UNAVAILABLE, Outcome.UNREADABLE, Outcome.UNSEALABLE]
)
def test_every_other_outcome_stays_pending_and_backs_off(outcome: Outcome) -> None:
    step = after_attempt(0, outcome, None, AT, POLICY, lambda: 0.5)
    assert step.state is ReversalState.PENDING and not step.done
    assert step.next_attempt_at == AT + timedelta(seconds=0.5)
    assert step.last_outcome == outcome.value and step.response_code is None


def test_the_back_off_doubles_to_its_cap_from_the_attempts_already_made() -> None:
    # rand() = 0.5 is no jitter at all; the attempts count is what a restarted host reads back
    delays = [
        (after_attempt(n, Outcome.NO_REPLY, None, AT, POLICY, lambda: 0.5).next_attempt_at - AT)
        for n in range(6)
    ]
    assert [d.total_seconds() for d in delays] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


@pytest.mark.parametrize(("rand", "seconds"), [(0.0, 0.9), (1.0, 1.1)])
def test_jitter_is_the_injected_randomness_within_its_fraction(rand: float, seconds: float) -> None:
    step = after_attempt(1, Outcome.ASKED_AGAIN, "96", AT, POLICY, lambda: rand)
    assert step.next_attempt_at is not None
    assert (step.next_attempt_at - AT).total_seconds() == pytest.approx(seconds)
    assert step.last_outcome == "asked_again (96)"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (ReversalState.ACKNOWLEDGED, ReversalState.PENDING),
        (ReversalState.ACKNOWLEDGED, ReversalState.ACKNOWLEDGED),
        (ReversalState.PENDING, ReversalState.INTENT),
        (ReversalState.INTENT, ReversalState.ACKNOWLEDGED),
    ],
)
def test_transitions_the_machine_does_not_have_are_refused(
    before: ReversalState, after: ReversalState
) -> None:
    with pytest.raises(ValueError, match=f"cannot go from {before.value} to {after.value}"):
        check_transition(before, after)

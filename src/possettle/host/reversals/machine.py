"""The states of an upstream reversal and what one send attempt leads to — no I/O.

A reversal is done only when the issuer's 0410 carries a final code: ``91`` (issuer
unavailable) and ``96`` (system malfunction) say it could not process the reversal yet, so
they count like no answer at all. Anything else (``00``, ``25`` "no such original", ...) is
the issuer's acknowledgement.

>>> from datetime import UTC, datetime
>>> from possettle.upstream.retry import RetryPolicy
>>> at = datetime(2026, 12, 1, tzinfo=UTC)
>>> step = after_attempt(0, Outcome.NO_REPLY, None, at, RetryPolicy(jitter=0))
>>> step.state.value, step.attempts, (step.next_attempt_at - at).total_seconds()
('pending', 1, 0.5)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from possettle.iso8583.codes import UPSTREAM_RETRY
from possettle.ledger.kinds import ReversalState
from possettle.upstream.retry import RetryPolicy

#: a 0410 with one of these asks for the reversal again later
RETRY_CODES = UPSTREAM_RETRY

#: the transitions a row may take; an intent may also be deleted (its answer was booked)
TRANSITIONS: dict[ReversalState, frozenset[ReversalState]] = {
    ReversalState.INTENT: frozenset({ReversalState.PENDING}),
    ReversalState.PENDING: frozenset({ReversalState.PENDING, ReversalState.ACKNOWLEDGED}),
    ReversalState.ACKNOWLEDGED: frozenset(),
}

#: field 39 of a reversal whose request was left behind by a host that died (lease expired)
ORPHAN_REASON = "96"
#: field 39 of a reversal for a request that got no usable answer
NO_ANSWER_REASON = "98"


class Outcome(StrEnum):
    """What one attempt to send a reversal came to."""

    ACKNOWLEDGED = "acknowledged"  # a 0410 with a final code
    ASKED_AGAIN = "asked_again"  # a 0410 with 91 / 96
    NO_REPLY = "no_reply"  # nothing within the attempt's budget
    UNAVAILABLE = "unavailable"  # no connection to the issuer
    UNREADABLE = "unreadable"  # a reply that cannot be read
    UNSEALABLE = "unsealable"  # the stored original does not open (wrong vault key?)


def classify(code: str) -> Outcome:
    """The outcome of a 0410 carrying ``code``."""
    return Outcome.ASKED_AGAIN if code in RETRY_CODES else Outcome.ACKNOWLEDGED


@dataclass(frozen=True, slots=True)
class Step:
    """A row's values after one attempt."""

    state: ReversalState
    attempts: int
    next_attempt_at: datetime | None
    last_outcome: str
    response_code: str | None  # the acknowledging 0410's field 39

    @property
    def done(self) -> bool:
        return self.state is ReversalState.ACKNOWLEDGED


def check_transition(before: ReversalState, after: ReversalState) -> None:
    """Refuse a transition the machine does not have (our bug, never the issuer's)."""
    if after not in TRANSITIONS[before]:
        raise ValueError(f"an upstream reversal cannot go from {before.value} to {after.value}")


def after_attempt(
    attempts: int,
    outcome: Outcome,
    code: str | None,
    now: datetime,
    policy: RetryPolicy,
    rand: Callable[[], float] = random.random,
) -> Step:
    """The next step of a pending reversal that has had ``attempts`` attempts before this one."""
    check_transition(
        ReversalState.PENDING,
        ReversalState.ACKNOWLEDGED if outcome is Outcome.ACKNOWLEDGED else ReversalState.PENDING,
    )
    label = outcome.value if code is None else f"{outcome.value} ({code})"
    if outcome is Outcome.ACKNOWLEDGED:
        return Step(ReversalState.ACKNOWLEDGED, attempts + 1, None, label, code)
    delay = policy.delay(attempts, rand)
    return Step(ReversalState.PENDING, attempts + 1, now + timedelta(seconds=delay), label, None)

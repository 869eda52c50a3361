from __future__ import annotations

from datetime import UTC, datetime

from possettle.clock import FixedClock
from possettle.host.log_budget import LogBudget


def test_a_budget_lets_a_burst_through_and_then_says_how_many_it_held_back() -> None:
    clock = FixedClock(datetime(2026, 12, 7, tzinfo=UTC))
    budget = LogBudget(clock, burst=3, interval=1.0)
    assert [budget.take("97") for _ in range(10)] == [0, 0, 0] + [None] * 7
    assert budget.take("03") == 0  # each event has its own budget
    clock.advance(0.5)
    assert budget.take("97") is None  # still the same interval
    clock.advance(0.5)
    assert budget.take("97") == 8
    assert budget.take("97") == 0
    clock.advance(5.0)
    assert budget.take("97") == 0  # nothing was held back in the interval before

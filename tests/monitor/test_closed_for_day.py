"""A shop closed for the night is not an outage: terminals that signed off, or whose last act
was the settlement that closed their batch, are *closed for the day*; their silence raises no
alert and they are counted apart. A terminal with work on it, or heard from again after its
settlement, is expected to report."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from possettle.clock import FixedClock
from possettle.monitor.alerts import evaluate_alerts
from possettle.monitor.metrics import render_metrics
from tests.monitor.conftest import Fleet


def gauges(engine: Engine, clock: FixedClock, name: str) -> dict[str, float]:
    text = render_metrics(engine, clock=clock).decode()
    return {
        s.labels["region"]: s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == name
    }


def test_a_region_that_closed_for_the_night_raises_nothing(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    sha = fleet.terminals("shanghai", 4, prefix="SHA1")
    bj = fleet.terminals("beijing", 2, prefix="BJA1")
    fleet.later(60 * 9)  # a day's trading, then the evening
    for tid in sha[:2]:
        fleet.settled(tid)
    fleet.signed_off(sha[2:])
    fleet.later(60 * 10)  # the night; Beijing's terminals trade on
    fleet.seen(bj)
    assert evaluate_alerts(engine, clock).opened == ()
    assert gauges(engine, clock, "possettle_terminals_closed") == {"shanghai": 4, "beijing": 0}
    assert gauges(engine, clock, "possettle_terminals_not_reporting") == {
        "shanghai": 0, "beijing": 0,
    }  # fmt: skip


def test_silence_with_work_on_the_terminal_or_after_it_came_back_is_not_reporting(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    tids = fleet.terminals("shanghai", 4, prefix="SHA1")
    quiet, traded, woke, fine = tids
    for tid in (quiet, traded, woke):
        fleet.settled(tid)
    # after its settlement one terminal books a sale on its new batch ...
    fleet.batch(traded, 2, status="open", entry_at=clock.now())
    fleet.later(60 * 8)
    # ... another signs on again in the morning, before its first sale
    fleet.seen([woke, fine])
    fleet.later(45)
    fleet.seen([fine])
    (alert,) = evaluate_alerts(engine, clock).opened
    assert alert.rule == "PossettleTerminalsNotReporting"
    assert alert.terminals == (traded, woke)  # not the one that closed for the day
    assert gauges(engine, clock, "possettle_terminals_closed") == {"shanghai": 1}

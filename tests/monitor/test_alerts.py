"""The built-in alert engine on simulated failures: each rule fires on its own situation, a
region outage is one incident, incidents update and resolve, acknowledgements are kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import structlog
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from possettle.clock import FixedClock
from possettle.ledger.engine import create_engine_for
from possettle.ledger.kinds import AlertStatus
from possettle.ledger.schema import alerts
from possettle.monitor.alerts import (
    AlertError,
    EngineConfig,
    acknowledge,
    evaluate_alerts,
    list_alerts,
    resolve,
    watch,
)
from tests.monitor.conftest import Fleet


def burn(f: Fleet) -> None:
    tids = f.terminals("shanghai", 6, prefix="SHA1")
    for tid in tids[:4]:
        f.request(tid, "0500", "00")
    for tid in tids[4:]:
        f.request(tid, "0500", "A0")
        f.report(tid, {"ok": False, "causes": [["keys.out_of_sync", 0.8, "settle"]]})


def out_of_balance(f: Fleet) -> None:
    tids = f.terminals("beijing", 5, prefix="BJA1")
    for tid in tids[:3]:
        f.batch(tid, 1, status="closed", results=(1, 1))
    for tid in tids[3:]:
        f.batch(tid, 1, status="settling", results=(2, 1))


def reversals_stuck(f: Fleet) -> None:
    tids = f.terminals("shanghai", 3, prefix="SHA1")
    f.report(tids[0], {"ok": False, "causes": [["reversal.stuck", 0.9, "reversal"]]})
    f.report(tids[1], {"ok": True, "causes": []})


def issuer_down(f: Fleet) -> None:
    tids = f.terminals("shanghai", 2, prefix="SHA1")
    f.request(tids[0], "0200", "00", 6)
    f.request(tids[1], "0200", "91", 2)
    f.request(tids[0], "0200", "98", 1)


def one_silent(f: Fleet) -> None:
    tids = f.terminals("shanghai", 4, prefix="SHA1")
    f.later(45)
    f.seen(tids[1:])


def region_dark(f: Fleet) -> None:
    f.terminals("shanghai", 4, prefix="SHA1")
    bj = f.terminals("beijing", 4, prefix="BJA1")
    f.later(45)
    f.seen(bj)


SCENARIOS: dict[str, Callable[[Fleet], None]] = {
    "PossettleSettlementFailureBurnRate": burn,
    "PossettleOutOfBalanceRate": out_of_balance,
    "PossettleReversalsStuck": reversals_stuck,
    "PossettleIssuerUnavailable": issuer_down,
    "PossettleTerminalsNotReporting": one_silent,
    "PossettleRegionDark": region_dark,
}


@pytest.mark.parametrize("rule", list(SCENARIOS))
def test_each_rule_fires_on_its_own_failure_and_nothing_else(
    rule: str, engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    SCENARIOS[rule](fleet)
    outcome = evaluate_alerts(engine, clock)
    assert [a.rule for a in outcome.opened] == [rule]
    assert outcome.opened[0].terminals
    assert outcome.opened[0].status == AlertStatus.OPEN


def test_a_quiet_fleet_raises_nothing(engine: Engine, fleet: Fleet, clock: FixedClock) -> None:
    tids = fleet.terminals("shanghai", 5, prefix="SHA1")
    for tid in tids:
        fleet.request(tid, "0200", "00", 3)
        fleet.request(tid, "0500", "00")
    assert evaluate_alerts(engine, clock).opened == ()


def test_burn_rate_is_filed_under_the_cause_the_terminals_report(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    burn(fleet)
    (alert,) = evaluate_alerts(engine, clock).opened
    assert alert.cause == "keys.out_of_sync"
    assert alert.terminals == ("SHA10004", "SHA10005")


def test_a_region_going_dark_is_one_incident_that_lists_its_terminals(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    region_dark(fleet)
    (alert,) = evaluate_alerts(engine, clock).opened
    assert (alert.rule, alert.cause, alert.incident_key) == (
        "PossettleRegionDark", "region.outage", "region=shanghai",
    )  # fmt: skip
    assert alert.terminals == ("SHA10000", "SHA10001", "SHA10002", "SHA10003")
    assert "shanghai" in alert.summary_en and "shanghai" in alert.summary_zh
    fleet.later(5)
    again = evaluate_alerts(engine, clock)
    assert again.opened == () and [a.id for a in again.updated] == [alert.id]
    assert again.updated[0].last_at == clock.now() and again.updated[0].first_at == alert.first_at
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(alerts)).scalar_one() == 1


def test_an_incident_resolves_when_the_condition_clears(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    region_dark(fleet)
    (alert,) = evaluate_alerts(engine, clock).opened
    fleet.seen(["SHA10000", "SHA10001", "SHA10002", "SHA10003"])
    fleet.later(1)
    outcome = evaluate_alerts(engine, clock)
    assert [a.id for a in outcome.resolved] == [alert.id]
    assert outcome.resolved[0].status == AlertStatus.RESOLVED
    assert outcome.resolved[0].resolved_at == clock.now()
    assert evaluate_alerts(engine, clock) == type(outcome)()


def test_a_shrinking_outage_updates_its_terminals_then_becomes_a_warning(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    region_dark(fleet)
    evaluate_alerts(engine, clock)
    fleet.seen(["SHA10000", "SHA10001", "SHA10002"])
    outcome = evaluate_alerts(engine, clock)
    assert [a.rule for a in outcome.resolved] == ["PossettleRegionDark"]
    assert [(a.rule, a.terminals) for a in outcome.opened] == [
        ("PossettleTerminalsNotReporting", ("SHA10003",))
    ]


def test_acknowledging_keeps_who_when_and_why(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    region_dark(fleet)
    (alert,) = evaluate_alerts(engine, clock).opened
    fleet.later(2)
    with engine.begin() as conn:
        acked = acknowledge(conn, alert.id, by="alice", note="carrier outage", at=clock.now())
    assert (acked.status, acked.ack_by, acked.ack_note, acked.ack_at) == (
        AlertStatus.ACKNOWLEDGED, "alice", "carrier outage", clock.now(),
    )  # fmt: skip
    # still firing: it stays one acknowledged incident
    outcome = evaluate_alerts(engine, clock)
    assert outcome.opened == () and outcome.updated[0].status == AlertStatus.ACKNOWLEDGED
    with engine.connect() as conn:
        assert [a.ack_note for a in list_alerts(conn)] == ["carrier outage"]


def test_acknowledging_a_missing_or_resolved_alert_is_refused(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    region_dark(fleet)
    (alert,) = evaluate_alerts(engine, clock).opened
    with engine.begin() as conn:
        with pytest.raises(AlertError, match="no alert with id 99"):
            acknowledge(conn, 99, by="alice", note="x", at=clock.now())
        with pytest.raises(AlertError, match="needs the user's name"):
            acknowledge(conn, alert.id, by=" ", note="x", at=clock.now())
        resolve(conn, alert.id, at=clock.now())
        with pytest.raises(AlertError, match=f"alert {alert.id} .* already resolved"):
            acknowledge(conn, alert.id, by="alice", note="x", at=clock.now())


def test_a_premature_manual_resolve_reopens_as_a_new_incident(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    region_dark(fleet)
    (first,) = evaluate_alerts(engine, clock).opened
    with engine.begin() as conn:
        resolve(conn, first.id, at=clock.now())
    (second,) = evaluate_alerts(engine, clock).opened
    assert second.id != first.id and second.incident_key == first.incident_key
    with engine.connect() as conn:
        statuses = {a.id: a.status for a in list_alerts(conn)}
    assert statuses == {first.id: AlertStatus.RESOLVED, second.id: AlertStatus.OPEN}


async def test_watch_evaluates_until_stopped(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    region_dark(fleet)
    stop = asyncio.Event()
    task = asyncio.create_task(watch(engine, clock, EngineConfig(), every=0.01, stop=stop))
    for _ in range(500):
        with engine.connect() as conn:
            if list_alerts(conn):
                break
        await asyncio.sleep(0.01)
    stop.set()
    assert await asyncio.wait_for(task, 10) >= 1
    with engine.connect() as conn:
        assert [a.rule for a in list_alerts(conn)] == ["PossettleRegionDark"]


async def test_watch_survives_a_database_failure(tmp_path: Path, clock: FixedClock) -> None:
    broken = create_engine_for(f"sqlite:///{tmp_path / 'not-a-ledger.db'}")  # no tables
    stop = asyncio.Event()
    try:
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(watch(broken, clock, EngineConfig(), every=0.01, stop=stop))
            await asyncio.sleep(0.1)
            stop.set()
            rounds = await asyncio.wait_for(task, 10)
    finally:
        broken.dispose()
    assert rounds >= 2
    assert {e["event"] for e in logs} == {"alert_evaluation_failed"}


def test_cut_over_answers_do_not_page_as_issuer_down(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    """90 is the host's day cut-over (日切), the doctor's operation.outside_hours: the same
    row of iso8583/codes.py that keeps the doctor from blaming the issuer keeps this alert
    quiet (issue 11: 90 was issuer-down to the alerts and outside-hours to the doctor)."""
    tids = fleet.terminals("shanghai", 2, prefix="SHA1")
    fleet.request(tids[0], "0200", "00", 6)
    fleet.request(tids[1], "0200", "90", 4)
    assert evaluate_alerts(engine, clock).opened == ()
    fleet.request(tids[1], "0200", "92", 3)  # the issuer's line is down: that pages
    assert [a.rule for a in evaluate_alerts(engine, clock).opened] == ["PossettleIssuerUnavailable"]

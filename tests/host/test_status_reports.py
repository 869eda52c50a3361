"""0820/362 status reports: the host stores only a report that fits the contract
(possettle/status_report.py); a bad one is answered 30 and the last good one stays."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import terminal_reports
from possettle.link import requests as m
from tests.cardscan import luhn_numbers
from tests.host.harness import MID, PAN, TID, RunningHost
from tests.host.test_flows import signed_on

GOOD = {
    "ok": False,
    "batch": 3,
    "causes": [["issuer.down", 0.82, "settle"], ["link.refused", 0.1, None]],
    "checks": {"link": "fail"},
    "pending_reversals": 1,
    "offline_items": 0,
}


def stored(url: str) -> list[str]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(terminal_reports.c.report).where(terminal_reports.c.tid == TID)
                ).scalars()
            )
    finally:
        engine.dispose()


async def send(host: RunningHost, report: bytes) -> str:
    link = await signed_on(host)
    try:
        ex = await link.send(m.status_report(TID, MID, link.next_stan(), 1, report))
        return ex.code
    finally:
        await link.close()


async def test_a_good_report_is_stored_as_sent(host: RunningHost) -> None:
    assert await send(host, json.dumps(GOOD).encode()) == "00"
    [row] = stored(host.config.db_url)
    assert json.loads(row) == GOOD


BAD = {
    "a huge string": {**GOOD, "checks": {"x" * 300: "fail"}},
    "a long step": {**GOOD, "causes": [["issuer.down", 0.5, "s" * 200]]},
    "ok as a string": {**GOOD, "ok": "yes"},
    "batch as a string": {**GOOD, "batch": "3"},
    "a score above one": {**GOOD, "causes": [["issuer.down", 7.0, None]]},
    "a negative count": {**GOOD, "pending_reversals": -1},
    "an unknown check status": {**GOOD, "checks": {"link": "dead"}},
    "unknown keys": {**GOOD, "printer": "ok"},
    "no ok": {"batch": 3},
    "a list": [1, 2, 3],
}


@pytest.mark.parametrize("report", BAD.values(), ids=BAD.keys())
async def test_a_bad_report_is_refused_30_and_the_last_good_one_stays(
    host: RunningHost, report: object
) -> None:
    assert await send(host, json.dumps(GOOD).encode()) == "00"
    assert await send(host, json.dumps(report).encode()) == "30"
    [row] = stored(host.config.db_url)
    assert json.loads(row) == GOOD


async def test_a_card_number_in_free_text_is_never_stored_in_clear(host: RunningHost) -> None:
    report = {
        "ok": False,
        "causes": [["issuer.down", 0.5, f"upload {PAN}"]],
        "checks": {f"area{PAN}": "fail"},
    }
    assert luhn_numbers(json.dumps(report))  # the scanner sees the card number going in
    assert await send(host, json.dumps(report).encode()) == "00"
    [row] = stored(host.config.db_url)
    assert PAN not in row and luhn_numbers(row) == []
    assert json.loads(row)["causes"][0][2] == f"upload {PAN[:6]}{'*' * (len(PAN) - 10)}{PAN[-4:]}"


def test_what_is_wrong_is_named_by_key_without_echoing_the_value() -> None:
    from pydantic import ValidationError

    from possettle.status_report import StatusReport, problems

    bad = {**GOOD, "batch": "3", "checks": {PAN: "dead"}, "extra": PAN}
    with pytest.raises(ValidationError) as info:
        StatusReport.parse(json.dumps(bad).encode())
    said = problems(info.value)
    assert "report: batch: Input should be a valid integer" in said
    assert "report: extra: unknown key" in said
    assert any(s.startswith("report: checks.") for s in said)
    assert luhn_numbers(" ".join(said)) == []


def test_a_row_stored_before_reports_were_checked_reads_as_none() -> None:
    from possettle.status_report import StatusReport

    assert StatusReport.read('{"printer": "ok"}') is None
    assert StatusReport.read("not json") is None
    assert StatusReport.read(json.dumps(GOOD)) == StatusReport.parse(json.dumps(GOOD).encode())


async def test_a_refusal_is_recorded_naming_the_key_never_the_value(host: RunningHost) -> None:
    from possettle.ledger.schema import host_events

    assert await send(host, json.dumps({"ok": True, "note": PAN, "batch": PAN}).encode()) == "30"
    engine = create_engine_for(host.config.db_url)
    try:
        with engine.connect() as conn:
            [(code, detail)] = conn.execute(
                sa.select(host_events.c.response_code, host_events.c.detail).where(
                    host_events.c.kind == "report_refused"
                )
            ).all()
    finally:
        engine.dispose()
    assert code == "30"
    said = json.loads(detail)["report"]
    assert "report: note: unknown key" in said
    assert any(s.startswith("report: batch: ") for s in said)
    assert luhn_numbers(detail) == [] and stored(host.config.db_url) == []

"""Our own terminal's data answers the support desk's questions (possettle/support/ours.py).

The host ledger is written row by row (SQLite, and PostgreSQL when POSSETTLE_TEST_PG is set),
so every answer is known in advance: a shop in Beijing, checked at 11:00 Beijing time on
8 December 2026 (03:00 UTC). The terminal's journal is a real terminal's, after a real day
against a real host (tests/doctor/harness.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from possettle.clock import FixedClock, SystemClock
from possettle.doctor.likelihoods import FACTORS
from possettle.ledger.migrate import init_db
from possettle.ledger.queries import set_policy
from possettle.ledger.schema import batches, ledger_entries, merchants, requests, terminals
from possettle.support.case import Case
from possettle.support.errors import SupportError, UnknownIdError
from possettle.support.ours import DISABLED_SIGNAL, OurFacts, facts

NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)  # 11:00 in Beijing
TODAY = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)  # 00:00 on the 8th in Beijing
YESTERDAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # 18:00 on the 7th in Beijing
MID, OTHER_MID = "898100012340009", "898100012340010"
PAN_MASKED = "622202******1234"
CLOCK = FixedClock(NOW)


def _terminal(conn: sa.Connection, tid: str, **values: Any) -> None:
    row = {
        "tid": tid, "mid": MID, "region": "haidian", "model": "P1", "tmk_sealed": b"x",
        "tmk_kcv": "000000", "created_at": NOW - timedelta(days=30), "software_version": "010200",
        "signed_on": True, "last_signon_at": TODAY + timedelta(hours=1),
        "last_seen_at": NOW - timedelta(minutes=5), "current_batch": 2,
    }  # fmt: skip
    conn.execute(sa.insert(terminals).values(**(row | values)))


def _batch(conn: sa.Connection, tid: str, batch: int, asked: datetime, *, ok: bool) -> None:
    conn.execute(
        sa.insert(batches).values(
            tid=tid, batch=batch, mid=MID, opened_at=asked - timedelta(hours=8),
            settle_requested_at=asked, status="closed" if ok else "settling",
            closed_at=asked + timedelta(seconds=2) if ok else None,
            result_domestic=1 if ok else 2, result_foreign=1,
        )
    )  # fmt: skip


def _entry(conn: sa.Connection, tid: str, stan: str, kind: str, at: datetime) -> None:
    conn.execute(
        sa.insert(ledger_entries).values(
            tid=tid, mid=MID, batch=2, stan=stan, kind=kind, amount=4708, currency="156",
            domestic=True, debit_amount=4708, debit_count=1, credit_amount=0, credit_count=0,
            pan_hash="h" * 64, pan_masked=PAN_MASKED, rrn=f"0000000{stan[-5:]}", card_org="CUP",
            host_date=at.date(), created_at=at, clearing_date=at.date(),
        )
    )  # fmt: skip


def _refused(conn: sa.Connection, tid: str, stan: str, at: datetime) -> None:
    conn.execute(
        sa.insert(requests).values(
            tid=tid, batch=2, stan=stan, mti="0200", digest="d" * 64, response_code="05",
            reply="{}", created_at=at,
        )
    )  # fmt: skip


def _ledger(url: str, rows: Any) -> str:
    init_db(url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(merchants).values(mid=MID, name="好运小卖部", created_at=NOW))
            conn.execute(sa.insert(merchants).values(mid=OTHER_MID, name="other", created_at=NOW))
            rows(conn)
    finally:
        engine.dispose()
    return url


def _working_day(conn: sa.Connection) -> None:
    """T0000001 signed on this morning, settled yesterday evening (balanced), sold 30 minutes
    ago and reversed one sale today; T0000002 of the same shop settled this morning."""
    _terminal(conn, "T0000001")
    _batch(conn, "T0000001", 1, YESTERDAY, ok=True)
    _entry(conn, "T0000001", "000007", "sale", NOW - timedelta(minutes=40))
    _entry(conn, "T0000001", "000008", "reversal", NOW - timedelta(minutes=35))
    _entry(conn, "T0000001", "000009", "sale", NOW - timedelta(minutes=30))
    _terminal(conn, "T0000002")
    _batch(conn, "T0000002", 1, TODAY + timedelta(hours=2), ok=True)
    _terminal(conn, "T0000003", mid=OTHER_MID, region="chaoyang")


def _bad_day(conn: sa.Connection) -> None:
    """T0000001 signed on yesterday, its settlement yesterday did not balance, the sales of
    the last hour were refused; T0000002 of the same shop is refused too."""
    _terminal(conn, "T0000001", last_signon_at=YESTERDAY - timedelta(hours=8))
    _batch(conn, "T0000001", 1, YESTERDAY, ok=False)
    _refused(conn, "T0000001", "000011", NOW - timedelta(minutes=10))
    _terminal(conn, "T0000002")
    _refused(conn, "T0000002", "000003", NOW - timedelta(minutes=20))


def _facts(url: str, tid: str = "T0000001") -> OurFacts:
    found = facts(Case(host_db=url, tid=tid), clock=CLOCK)
    assert found is not None
    return found


def test_the_ledger_answers_what_it_knows_of_a_working_day(db_url: str) -> None:
    found = _facts(_ledger(db_url, _working_day))
    assert dict(found.answers) == {
        "acquirer": "possettle",
        "model": "possettle",
        "signed_on": "yes",
        "last_settled": "recent",
        "worked_yesterday": "yes",
        "sale_works": "yes",
        "others_work": "yes",
        "reversal": "auto",
    }
    package = found.escalation
    assert package["tid"] == "T0000001" and package["mid"] == MID
    assert package["merchant"] == "好运小卖部"
    assert package["batch"] == 2 and package["last_settled_batch"] == 1
    assert (package["last_stan"], package["last_rrn"]) == ("000009", "000000000009")
    # no card data in the package, masked or not
    assert PAN_MASKED not in json.dumps(dict(package), ensure_ascii=False)
    assert "T0000001" in found.notes[0].en and "好运小卖部" in found.notes[0].zh


def test_the_ledger_answers_what_it_knows_of_a_bad_day(db_url: str) -> None:
    found = _facts(_ledger(db_url, _bad_day))
    assert dict(found.answers) == {
        "acquirer": "possettle",
        "model": "possettle",
        "signed_on": "no",
        "worked_yesterday": "no",
        "sale_works": "no",
        "others_work": "no",
    }


def test_a_terminal_alone_has_no_other_terminal_to_compare(db_url: str) -> None:
    found = _facts(_ledger(db_url, lambda conn: _terminal(conn, "T0000001")))
    assert found.answers["others_work"] == "none"
    assert found.answers["last_settled"] == "never"
    assert "worked_yesterday" not in found.answers  # 30 days old: not new, and no record


def test_a_terminal_registered_today_is_new(db_url: str) -> None:
    new = _ledger(db_url, lambda conn: _terminal(conn, "T0000001", created_at=TODAY))
    assert _facts(new).answers["worked_yesterday"] == "new"


@pytest.mark.parametrize("which", ["terminal", "merchant"])
def test_a_disabled_terminal_or_merchant_is_a_signal_with_its_evidence(
    db_url: str, which: str
) -> None:
    def rows(conn: sa.Connection) -> None:
        _working_day(conn)
        if which == "terminal":
            conn.execute(sa.update(terminals).values(status="disabled"))
        else:
            conn.execute(sa.update(merchants).values(status="disabled"))

    found = _facts(_ledger(db_url, rows))
    evidence = {s.key: s for s in found.signals[DISABLED_SIGNAL]}
    assert "host.status" in evidence
    assert ("商户" if which == "merchant" else "终端") in evidence["host.status"].zh
    assert found.escalation[f"{which}_status"] == "disabled"


def test_the_doctors_host_view_adds_its_signals(db_url: str) -> None:
    url = _ledger(db_url, _working_day)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            set_policy(conn, "min_version", "020000")  # T0000001 runs 010200
    finally:
        engine.dispose()
    found = _facts(url)
    assert "code.58.minver" in found.signals
    said = found.signals["code.58.minver"][0]
    assert said.key == "host.policy.min_version" and "2.0.0" in said.en
    assert all(key in FACTORS for key in found.signals)


def test_an_unknown_tid_is_an_error_naming_the_registered_ones(db_url: str) -> None:
    url = _ledger(db_url, _working_day)
    with pytest.raises(UnknownIdError) as raised:
        _facts(url, "T0000099")
    assert "T0000099" in str(raised.value)
    assert "T0000001, T0000002, T0000003" in str(raised.value)


def test_a_tid_needs_a_ledger_and_a_missing_ledger_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(SupportError, match="--host-db"):
        facts(Case(tid="T0000001"), clock=CLOCK)
    missing = tmp_path / "nothing.db"
    with pytest.raises(SupportError, match="no ledger"):
        facts(Case(host_db=str(missing), tid="T0000001"), clock=CLOCK)
    assert not missing.exists()


def test_a_case_about_no_terminal_of_ours_has_no_facts() -> None:
    assert facts(Case(screen="结算失败", code="A0"), clock=SystemClock()) is None

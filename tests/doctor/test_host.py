"""The doctor names the causes on the way to and at the acquirer (软件): a line that loses
replies, a host that is down, an issuer that is down (for the whole fleet), a permission the
acquirer does not give, a terminal the host does not know, a terminal that stopped reporting.

Not covered: ``gateway.error`` — possettle has no QR-wallet or third-party gateway, so no
HTTP status or gateway time-out ever reaches the journal or the host; the cause stays in the
catalog for terminals that have one.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from possettle.clock import FixedClock, SystemClock
from possettle.doctor.run import diagnose_from_host
from possettle.ledger.engine import create_engine_for
from possettle.sim.proxy import Direction, Faults
from possettle.terminal.errors import HostRefused, Refused
from possettle.terminal.operators import Role
from tests.doctor.harness import doctor, make_terminal, open_pos, settle, trade
from tests.doctor.scenes import (
    FAST,
    Member,
    evidence,
    expect_top,
    free_port,
    host_at,
    register_fleet,
    relay,
    set_timeout,
)
from tests.host.harness import TID, register, running_host
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN
from tests.terminal.scenario import rules_file


async def test_a_line_that_loses_the_hosts_replies_is_unstable_and_the_settlement_resumes(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host, relay(host.port) as proxy:
        term = make_terminal(tmp_path / "t", proxy.port)
        await trade(term)
        proxy.faults = Faults(drop=1.0, direction=Direction.DOWN)
        set_timeout(term, FAST)
        result = await settle(term)
        assert result["ok"] is False
        assert result["failure"]["step"] == "settle"  # type: ignore[index]

        report = await doctor(term, sqlite_url)
        top = expect_top(report, "network.unstable", "software", "settle")
        ev = evidence(top)
        assert ev["link.echo_loss"] == [1.0]  # every echo test went unanswered
        # the 0500 left and its reply was lost on the way back
        assert ev["settle_failed"] == [{"step": "settle", "code": "", "link_failure": "lost_reply"}]

        proxy.faults = Faults()
        set_timeout(term)
        report = await doctor(term, sqlite_url, fix=True)
        recovery = report.diagnoses[0].recovery
        assert recovery is not None and recovery["action"] == "resume_settlement"
        assert recovery["result"] == "ok", recovery
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()
    assert after.batch == 2


async def test_a_host_that_is_down_is_unreachable_and_the_settlement_resumes_when_it_is_back(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    port = free_port()
    async with host_at(sqlite_url, key_file, port):
        term = make_terminal(tmp_path / "t", port)
        await trade(term)
    # the host is stopped: connects are refused at once
    result = await settle(term)
    assert result["ok"] is False

    report = await doctor(term, sqlite_url)
    top = expect_top(report, "host.unreachable", "software", "settle")
    ev = evidence(top)
    assert ev["link.connect"] == ["refused"]
    assert ev["settle_failed"] == [{"step": "settle", "code": "", "link_failure": "refused"}]
    assert "link.down" not in [d.cause.id for d in report.diagnoses]  # the RST came back

    report = await doctor(term, sqlite_url, fix=True)
    assert report.diagnoses[0].recovery is not None
    assert report.diagnoses[0].recovery["result"] == "failed"  # still down: nothing settled

    async with host_at(sqlite_url, key_file, port):  # restarted
        report = await doctor(term, sqlite_url, fix=True)
        assert report.diagnoses[0].cause.id == "host.unreachable"
        recovery = report.diagnoses[0].recovery
        assert recovery is not None and recovery["result"] == "ok", recovery
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()


ISSUER_DOWN = '[[rules]]\nkind = "sale"\nresponse = "91"\n'


async def test_an_issuer_down_for_the_whole_fleet_is_the_issuer(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    fleet = [Member(f"1234567{n}") for n in range(4)]
    await register_fleet(sqlite_url, key_file, fleet)
    issuer = rules_file(tmp_path, ISSUER_DOWN)
    async with running_host(sqlite_url, key_file, issuer=issuer) as host:
        terms = [make_terminal(tmp_path / m.tid, host.port, tid=m.tid) for m in fleet]
        for term in terms[:3]:
            pos = open_pos(term)
            try:
                await pos.sign_on()
                for pan in (CUP_PAN, CUP_PAN_2, VISA_PAN):
                    assert (await pos.sale(pan, 1000, expiry="3012")).code == "91"
            finally:
                await pos.close()
        alone = await doctor(terms[0])  # the terminal's journal alone
        report = await doctor(terms[0], sqlite_url, fix=True)
    expect_top(alone, "issuer.unavailable", "software")
    top = expect_top(report, "issuer.unavailable", "software")
    ev = evidence(top)
    assert ev["response_code"] == [{"code": "91", "count": 3}]
    assert ev["issuer.failing"] == [{"terminals": 3}]  # not this terminal alone
    assert top.score > alone.diagnoses[0].score  # the fleet makes it surer
    assert top.recovery is None  # retry later; nothing to run now
    assert report.ok is False


@pytest.mark.parametrize("where", ["host", "terminal"])
async def test_an_operation_the_acquirer_or_the_role_does_not_allow_is_permission_denied(
    tmp_path: Path, sqlite_url: str, where: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    # the acquirer caps a sale on this terminal at 5,000.00
    issuer = rules_file(
        tmp_path, f'[[rules]]\ntid = "{TID}"\nmin_amount = 500001\nresponse = "61"\n'
    )
    async with running_host(sqlite_url, key_file, issuer=issuer) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term, sales=2)
        pos = open_pos(term)
        try:
            if where == "host":
                assert (await pos.sale(CUP_PAN, 600000, expiry="3012")).code == "61"
            else:
                pos.add_operator("01", "Wang", Role.SUPERVISOR, "8642")
                pos.add_operator("02", "Li", Role.CASHIER, "8642", "01", "8642")
                cashier = pos.login("02", "8642")
                with pytest.raises(Refused) as info:  # over the cashier's refund limit
                    await pos.refund(200000, orig_batch=1, orig_stan=2, op=cashier)
                assert info.value.code == "limit.amount"
        finally:
            await pos.close()
        report = await doctor(term, sqlite_url, fix=True)
    top = expect_top(report, "permission.denied", "software")
    ev = evidence(top)
    if where == "host":
        assert ev["response_code"] == [{"code": "61", "count": 1}]
    else:
        assert ev["refused"] == ["limit.amount"]
    assert top.recovery is None


async def test_a_terminal_the_host_does_not_know_is_unregistered(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register_fleet(sqlite_url, key_file, [Member("87654321")])  # not this terminal
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            with pytest.raises(HostRefused) as info:
                await pos.sign_on()
            assert info.value.code == "97"
        finally:
            await pos.close()
        result = await settle(term)
        assert result["ok"] is False

        alone = await doctor(term)
        report = await doctor(term, sqlite_url, fix=True)
    expect_top(alone, "terminal.unregistered", "software", "sign_on")
    top = expect_top(report, "terminal.unregistered", "software", "sign_on")
    ev = evidence(top)
    assert ev["terminal.registered"] == [False]
    assert {"code": "97", "field63": ""} in ev["sign_on_refused"]
    assert top.recovery is None


async def test_a_terminal_silent_for_hours_is_missing_telemetry_from_the_hosts_side(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    engine = create_engine_for(sqlite_url)
    try:
        async with running_host(sqlite_url, key_file) as host:
            term = make_terminal(tmp_path / "t", host.port)
            await trade(term)
            assert (await settle(term))["ok"] is True
            # settled and quiet: closed for the day, nothing is missing
            closed = diagnose_from_host(
                engine, TID, FixedClock(SystemClock().now() + timedelta(hours=2))
            )
            assert closed.diagnoses == [] and closed.ok, closed.as_dict()
            await trade(term)  # the next day's sales: now it is expected to report
        now = diagnose_from_host(engine, TID, SystemClock())  # it just reported
        later = SystemClock().now() + timedelta(hours=2)  # nothing heard since
        report = diagnose_from_host(engine, TID, FixedClock(later))
    finally:
        engine.dispose()
    assert now.diagnoses == [], now.as_dict()
    top = expect_top(report, "telemetry.missing", "software")
    [age] = evidence(top)["terminal.last_seen"]
    assert 7100 <= age <= 7300  # type: ignore[operator]
    assert top.recovery is None
    assert report.ok is False

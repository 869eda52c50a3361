"""The doctor names operation causes (操作): wrong input, steps in the wrong order, outside
the settlement window, a terminal the acquirer restricted, an operator locked out.

Not covered: ``operator.cancelled`` — the terminal has no prompts to cancel or time out
(every command runs to its end or is refused), so there is no cancel event to count; the
cause stays in the catalog for terminals with an interactive settlement.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from possettle.terminal.config import TerminalConfig
from possettle.terminal.errors import Refused
from possettle.terminal.operators import Role
from tests.doctor.harness import doctor, make_terminal, open_pos, settle, trade
from tests.doctor.scenes import evidence, expect_top
from tests.host.harness import TID, register, running_host
from tests.terminal.harness import CUP_PAN
from tests.terminal.scenario import rules_file


@pytest.mark.parametrize(
    ("pan", "expiry", "code"),
    [
        ("6222021234567890127", "3012", "input.pan"),  # a digit mistyped: Luhn fails
        (CUP_PAN, "2001", "input.expiry"),  # expired
    ],
)
async def test_a_wrongly_entered_card_is_invalid_input(
    tmp_path: Path, sqlite_url: str, pan: str, expiry: str, code: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term, sales=2)
        pos = open_pos(term)
        try:
            with pytest.raises(Refused) as info:
                await pos.sale(pan, 1234, expiry=expiry)
            assert info.value.code == code
        finally:
            await pos.close()
        report = await doctor(term, sqlite_url, fix=True)
    top = expect_top(report, "input.invalid", "operation")
    assert evidence(top)["refused"] == [code]
    assert top.recovery is None


async def test_a_void_after_the_settlement_is_out_of_order(tmp_path: Path, sqlite_url: str) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term, sales=3)
        pos = open_pos(term)
        try:
            settled_sale = pos.voidable()[0]
        finally:
            await pos.close()
        assert (await settle(term))["ok"] is True
        pos = open_pos(term)
        try:
            with pytest.raises(Refused) as info:
                await pos.void(settled_sale)  # the cashier should refund it now
            assert info.value.code == "input.original"
        finally:
            await pos.close()
        report = await doctor(term, sqlite_url, fix=True)
    top = expect_top(report, "operation.out_of_order", "operation")
    assert evidence(top)["refused"] == ["input.original"]
    assert "input.invalid" not in [d.cause.id for d in report.diagnoses]
    assert "refund" in top.cause.remedy.en and "退货" in top.cause.remedy.zh
    assert top.recovery is not None and top.recovery["result"] == "ok"  # nothing to resume


def _window_not_now() -> dict[str, str]:
    """A settlement window two hours from now in Beijing (the policy's timezone)."""
    start = (datetime.now(UTC) + timedelta(hours=8 + 2)).hour
    return {"start": f"{start:02d}:00", "end": f"{(start + 1) % 24:02d}:00"}


async def test_settling_outside_the_settlement_window_is_outside_hours(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        policy = {"settlement_window": _window_not_now()}
        TerminalConfig.load(term).with_changes(policy=policy).save(term)
        with pytest.raises(Refused) as info:
            await settle(term)
        assert info.value.code == "hours.settle_window"

        report = await doctor(term, sqlite_url, fix=True)
        top = expect_top(report, "operation.outside_hours", "operation")
        assert evidence(top)["refused"] == ["hours.settle_window"]
        assert top.recovery is None  # deferred to the window, not forced

        TerminalConfig.load(term).with_changes(policy={"settlement_window": "always"}).save(term)
        assert (await settle(term))["ok"] is True
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()


async def test_a_terminal_the_acquirer_restricted_is_restricted(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    issuer = rules_file(tmp_path, f'[[rules]]\ntid = "{TID}"\nresponse = "62"\n')
    async with running_host(sqlite_url, key_file, issuer=issuer) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            for amount in (1000, 2000):
                assert (await pos.sale(CUP_PAN, amount, expiry="3012")).code == "62"
        finally:
            await pos.close()
        report = await doctor(term, sqlite_url, fix=True)
    top = expect_top(report, "operation.restricted", "operation")
    assert evidence(top)["response_code"] == [{"code": "62", "count": 2}]
    assert top.recovery is None  # never automate around compliance


async def test_an_operator_locked_out_is_an_authentication_failure(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        pos = open_pos(term)
        try:
            pos.add_operator("01", "Wang", Role.SUPERVISOR, "8642")
            for _ in range(3):
                with pytest.raises(Refused):
                    pos.login("01", "0000")
            with pytest.raises(Refused) as info:  # now the right password is refused too
                pos.login("01", "8642")
            assert info.value.code == "operator.locked"
        finally:
            await pos.close()
        report = await doctor(term, sqlite_url, fix=True)
    top = expect_top(report, "operator.auth_failed", "operation")
    assert "operator.locked" in evidence(top)["refused"]
    assert top.recovery is None
    checks = {c["area"]: c["status"] for c in report.as_dict()["checks"]}
    assert checks["operators"] == "warn"

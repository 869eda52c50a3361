"""Store-and-forward: the host cannot be reached, the shop keeps selling within its limits.

An offline approval carries ``F`` + 5 digits; beyond the policy's offline limits the merchant
is told which limit stopped the sale, in English and Chinese. When the host is back, the next
online command forwards the advices first, in the order they were taken, and the ledger ends
with each exactly once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from possettle.terminal.errors import Refused
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import EventKind, Refusal
from possettle.terminal.operators import Operator, Role
from possettle.terminal.transactions import TxnResult
from tests.host.harness import TID, register
from tests.terminal.faults import host_view
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN, make_terminal, open_pos
from tests.terminal.scenario import (
    closed_port,
    host_on_day,
    ledger,
    live_totals,
    point_at,
    terminal_totals,
)

OFFLINE_POLICY = {
    "settlement_window": "always",
    "offline": {"max_amount": 5_000, "max_count": 3, "max_total": 9_000},
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def assert_offline(result: TxnResult) -> None:
    assert result.approved and result.offline
    assert result.state.value == "offline_pending"
    assert re.fullmatch(r"F[0-9]{5}", result.auth_code), result.auth_code
    assert result.rrn == ""


async def test_offline_sales_within_limits_are_forwarded_first_and_in_order(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    # The shop opens while its router is down: the terminal has never reached the host.
    term = make_terminal(tmp_path / "t", closed_port(), policy=OFFLINE_POLICY)
    pos = open_pos(term)
    try:
        taken = [
            await pos.sale(CUP_PAN, 1200, expiry="3012"),
            await pos.sale(VISA_PAN, 3000, expiry="3012"),
            await pos.sale(CUP_PAN_2, 4500, expiry="3012"),
        ]
        for r in taken:
            assert_offline(r)
        assert len({r.auth_code for r in taken}) == 3
        status = pos.status()
        assert status["offline_pending"] == 3
        assert status["signed_on"] is False
        assert status["pending_reversals"] == []
    finally:
        await pos.close()

    async with host_on_day(db_url, key_file) as host:
        point_at(term, host.port)
        pos = open_pos(term)
        try:
            online = await pos.sale(CUP_PAN, 700, expiry="3012")
            assert online.approved and not online.offline
            status = pos.status()
            assert status["offline_pending"] == 0
            mine = terminal_totals(status)
            report = await pos.settle()
        finally:
            await pos.close()

    # The advices went up before the sale, in the order they were taken, each once.
    entries = ledger(db_url, TID)
    assert [(int(e["stan"]), e["kind"]) for e in entries] == [
        *((r.stan, "offline") for r in taken),
        (online.stan, "sale"),
    ]
    assert [e["amount"] for e in entries] == [1200, 3000, 4500, 700]
    assert report.ok and report.result == "balanced", report.as_dict()
    assert live_totals(db_url, TID, report.batch) == mine == (9400, 4, 0, 0)
    view = host_view(db_url, [term])
    assert view.lost == [] and view.duplicated == []


@pytest.mark.parametrize(
    ("amount", "code"),
    [(5_001, "limit.offline_amount"), (4_001, "limit.offline_total")],
)
async def test_a_sale_beyond_the_offline_limits_is_refused_with_the_reason(
    tmp_path: Path, amount: int, code: str
) -> None:
    term = make_terminal(tmp_path / "t", closed_port(), policy=OFFLINE_POLICY)
    pos = open_pos(term)
    try:
        assert_offline(await pos.sale(CUP_PAN, 5_000, expiry="3012"))
        with pytest.raises(Refused) as info:
            await pos.sale(CUP_PAN_2, amount, expiry="3012")
        refused = info.value
        assert refused.code == code
        assert "host cannot be reached" in refused.en
        assert CJK.search(refused.zh) and "主机" in refused.zh
        assert refused.details["host"] == "unreachable"
        [event] = pos.journal.events(EventKind.REFUSED)
        assert isinstance(event.detail, Refusal)
        assert (event.code, event.detail.operation) == (code, "offline_sale")
        assert (event.detail.en, event.detail.zh) == (refused.en, refused.zh)
        status = pos.status()
        # The refused sale left nothing behind to settle or to reverse.
        assert status["offline_pending"] == 1
        assert status["transactions"] == 1
        assert status["pending_reversals"] == []
    finally:
        await pos.close()


async def test_the_count_limit_and_a_cashier_without_offline_rights(tmp_path: Path) -> None:
    policy = {
        **OFFLINE_POLICY,
        "offline": {"max_count": 1},
        "permissions": {"cashier": ["sale", "void", "refund", "settle"]},
    }
    term = make_terminal(tmp_path / "t", closed_port(), policy=policy)
    pos = open_pos(term)
    cashier = Operator("02", "Li Lei", Role.CASHIER)
    try:
        with pytest.raises(Refused) as info:
            await pos.sale(CUP_PAN, 100, expiry="3012", op=cashier)
        assert info.value.code == "permission.role"
        assert info.value.details["operation"] == "offline_sale"
        assert CJK.search(info.value.zh)
        assert_offline(await pos.sale(CUP_PAN, 100, expiry="3012"))  # the supervisor may
        with pytest.raises(Refused) as info:
            await pos.sale(CUP_PAN, 100, expiry="3012")
        assert info.value.code == "limit.offline_count"
        assert info.value.en and CJK.search(info.value.zh)
        assert pos.status()["offline_pending"] == 1
    finally:
        await pos.close()


async def test_offline_sales_taken_while_the_host_is_down_are_forwarded_when_it_is_back(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port, policy=OFFLINE_POLICY)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            first = await pos.sale(CUP_PAN, 1000, expiry="3012")
            assert first.approved and not first.offline
        finally:
            await pos.close()
    # The host is stopped; its port is closed now.
    pos = open_pos(term)
    try:
        offline = [await pos.sale(VISA_PAN, 2000, expiry="3012") for _ in range(2)]
        for r in offline:
            assert_offline(r)
    finally:
        await pos.close()

    async with host_on_day(sqlite_url, key_file) as host:
        point_at(term, host.port)
        pos = open_pos(term)
        try:
            assert pos.status()["signed_on"] is True  # the session survived the host restart
            report = await pos.settle()  # the offline upload step forwards the advices
            assert report.ok and report.result == "balanced", report.as_dict()
            assert pos.status()["offline_pending"] == 0
        finally:
            await pos.close()

    entries = ledger(sqlite_url, TID)
    assert [(int(e["stan"]), e["kind"]) for e in entries] == [
        (first.stan, "sale"),
        *((r.stan, "offline") for r in offline),
    ]
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []


async def test_advices_answered_sign_on_again_stay_pending_and_go_up_after_a_fresh_sign_on(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with host_on_day(db_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port, policy=OFFLINE_POLICY)
        pos = open_pos(term)
        try:
            await pos.sign_on()
        finally:
            await pos.close()
    pos = open_pos(term)
    try:
        offline = [await pos.sale(CUP_PAN, 1000 + i, expiry="3012") for i in range(2)]
        for r in offline:
            assert_offline(r)
    finally:
        await pos.close()

    async with host_on_day(db_url, key_file) as host:
        # While the shop was cut off the acquirer rolled this terminal's working keys (a
        # sign-on from its key-management system): the terminal's MAK is stale, so the host
        # answers its advices A0, "sign on again", and books nothing.
        async with host.link() as link:
            assert (await link.sign_on()).code == "00"
        point_at(term, host.port)
        pos = open_pos(term)
        try:
            sale = await pos.sale(CUP_PAN_2, 700, expiry="3012")
            assert sale.approved and not sale.offline
            states = [q.find_txn(pos.journal.conn, r.batch, r.stan) for r in offline]
            assert [s.state.value if s else None for s in states] == ["approved", "approved"]
            assert pos.status()["offline_pending"] == 0
            mine = terminal_totals(pos.status())
            report = await pos.settle()
        finally:
            await pos.close()

    assert [(int(e["stan"]), e["kind"]) for e in ledger(db_url, TID)] == [
        *((r.stan, "offline") for r in offline),
        (sale.stan, "sale"),
    ]
    assert mine == (2701, 3, 0, 0)
    assert report.ok and report.result == "balanced", report.as_dict()
    assert live_totals(db_url, TID, report.batch) == mine
    view = host_view(db_url, [term])
    assert view.lost == [] and view.duplicated == []


async def test_settlement_signs_on_again_when_the_host_asks_before_its_offline_upload(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port, policy=OFFLINE_POLICY)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            online = await pos.sale(VISA_PAN, 4000, expiry="3012")
        finally:
            await pos.close()
    pos = open_pos(term)
    try:
        offline = await pos.sale(CUP_PAN, 1000, expiry="3012")
        assert_offline(offline)
    finally:
        await pos.close()

    async with host_on_day(sqlite_url, key_file) as host:
        async with host.link() as link:  # the working keys were rolled meanwhile
            assert (await link.sign_on()).code == "00"
        point_at(term, host.port)
        pos = open_pos(term)
        try:
            report = await pos.settle()  # closing time: the first thing the shop does
            assert report.ok and report.result == "balanced", report.as_dict()
            assert pos.status()["offline_pending"] == 0
        finally:
            await pos.close()

    assert [(int(e["stan"]), e["kind"]) for e in ledger(sqlite_url, TID)] == [
        (online.stan, "sale"),
        (offline.stan, "offline"),
    ]
    assert live_totals(sqlite_url, TID, report.batch) == (5000, 2, 0, 0)
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []

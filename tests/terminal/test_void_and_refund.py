"""Void and refund as a merchant uses them, against a real host.

A void takes back a sale of the open batch, once; after settlement it is a refund's job, and
a refund can never give back more than the sale took (refused here with what is left when
the journal holds the sale, declined by the host with ``13`` otherwise).
Every local refusal is journaled with its code and both messages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from possettle.terminal.errors import Refused
from possettle.terminal.journal.events import EventKind, Refusal
from possettle.terminal.operators import Operator, Role
from tests.host.harness import TID, register
from tests.terminal.faults import host_view
from tests.terminal.harness import CUP_PAN, VISA_PAN, make_terminal, open_pos
from tests.terminal.scenario import host_on_day, ledger, live_totals, terminal_totals

CJK = re.compile(r"[\u4e00-\u9fff]")


def refusal(info: pytest.ExceptionInfo[Refused], code: str) -> Refused:
    err = info.value
    assert err.code == code
    assert err.en.strip() and CJK.search(err.zh), err.as_dict()
    return err


async def test_void_refuses_an_unknown_or_voided_sale_and_takes_back_one_once(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with host_on_day(db_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            sale = await pos.sale(CUP_PAN, 2500, expiry="3012")
            kept = await pos.sale(VISA_PAN, 900, expiry="3012")
            with pytest.raises(Refused) as info:
                await pos.void(sale.stan + 100)
            refusal(info, "input.original")

            void = await pos.void(sale.stan)
            assert void.approved and void.amount == 2500
            assert pos.voidable() == [kept.stan]
            with pytest.raises(Refused) as info:
                await pos.void(sale.stan)
            refusal(info, "input.original")
            with pytest.raises(Refused) as info:
                await pos.void(void.stan)  # a void is not a sale
            refusal(info, "input.original")

            events = [e.detail for e in pos.journal.events(EventKind.REFUSED)]
            assert all(isinstance(d, Refusal) for d in events)
            assert [(d.code, d.operation) for d in events if isinstance(d, Refusal)] == [
                ("input.original", "void")
            ] * 3
            assert all(d.en and d.zh for d in events if isinstance(d, Refusal))
            mine = terminal_totals(pos.status())
            assert mine == (900, 1, 0, 0)
            report = await pos.settle()
        finally:
            await pos.close()

    entries = ledger(db_url, TID)
    assert [(int(e["stan"]), e["kind"], e["voided"]) for e in entries] == [
        (sale.stan, "sale", True),
        (kept.stan, "sale", False),
        (void.stan, "void", False),
    ]
    assert report.ok and report.result == "balanced", report.as_dict()
    assert live_totals(db_url, TID, report.batch) == mine
    view = host_view(db_url, [term])
    assert view.lost == [] and view.duplicated == []


async def test_refunds_up_to_the_sale_even_after_its_batch_is_settled(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with host_on_day(db_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            sale = await pos.sale(CUP_PAN, 3000, expiry="3012")
            with pytest.raises(Refused) as info:  # the journal knows the sale: refused here
                await pos.refund(3001, orig_batch=sale.batch, orig_stan=sale.stan)
            assert refusal(info, "input.amount").details["refundable"] == 3000
            part = await pos.refund(1000, orig_batch=sale.batch, orig_stan=sale.stan)
            assert part.approved
            first = await pos.settle()
            assert first.ok and first.result == "balanced", first.as_dict()

            # The sale's batch is closed: a void is refused, a refund still works from the
            # journal's copy of the original (card, RRN and date).
            with pytest.raises(Refused) as info:
                await pos.void(sale.stan)
            refusal(info, "input.original")
            rest = await pos.refund(2000, orig_batch=sale.batch, orig_stan=sale.stan)
            assert rest.approved and rest.batch == first.batch + 1
            with pytest.raises(Refused) as info:  # fully refunded
                await pos.refund(1, orig_batch=sale.batch, orig_stan=sale.stan)
            assert refusal(info, "input.amount").details["refundable"] == 0
            mine = terminal_totals(pos.status())
            assert mine == (0, 0, 2000, 1)
            second = await pos.settle()
        finally:
            await pos.close()

    assert [(int(e["stan"]), e["kind"], e["batch"]) for e in ledger(db_url, TID)] == [
        (sale.stan, "sale", first.batch),
        (part.stan, "refund", first.batch),
        (rest.stan, "refund", first.batch + 1),
    ]
    assert second.ok and second.result == "balanced", second.as_dict()
    assert live_totals(db_url, TID, second.batch) == mine
    view = host_view(db_url, [term])
    assert view.lost == [] and view.duplicated == []


async def test_a_refund_of_a_sale_this_terminal_never_saw_needs_its_card_rrn_and_date(
    tmp_path: Path, sqlite_url: str
) -> None:
    term = make_terminal(tmp_path / "t", 9)  # refused before any message: no host needed
    pos = open_pos(term)
    try:
        with pytest.raises(Refused) as info:
            await pos.refund(100, orig_batch=7, orig_stan=42)
        err = refusal(info, "input.original")
        assert err.details == {"batch": 7, "stan": 42}
        assert [e.code for e in pos.journal.events(EventKind.REFUSED)] == ["input.original"]
    finally:
        await pos.close()


async def test_a_cashier_cannot_void_above_the_void_limit(tmp_path: Path, sqlite_url: str) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    cashier = Operator("02", "Li Lei", Role.CASHIER)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            big = await pos.sale(CUP_PAN, 600_000, expiry="3012", op=cashier)
            small = await pos.sale(CUP_PAN, 400_000, expiry="3012", op=cashier)
            with pytest.raises(Refused) as info:
                await pos.void(big.stan, op=cashier)
            err = refusal(info, "limit.amount")
            assert (err.details["operation"], err.details["limit"]) == ("void", 500_000)
            assert (await pos.void(small.stan, op=cashier)).approved
            assert (await pos.void(big.stan)).approved  # the supervisor may
            assert terminal_totals(pos.status()) == (0, 0, 0, 0)
        finally:
            await pos.close()
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []

"""Every input is checked before anything is journaled or sent, and a refund above what is left
of its sale is refused here, with the figure, instead of by the host with ``13``.

A PIN of the wrong shape used to be found only when the 0200 was built, after its intent
(a STAN and a pending reversal) was journaled: each try cost a voucher number and left a
reversal the host answered ``25``.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from possettle.terminal.errors import Refused
from possettle.terminal.journal.events import EventKind
from possettle.terminal.pos import Pos
from tests.host.harness import KEYS, TID, register
from tests.terminal.harness import CUP_PAN, make_terminal, open_pos
from tests.terminal.scenario import host_on_day, ledger

CJK = re.compile(r"[\u4e00-\u9fff]")


def journal_rows(pos: Pos) -> tuple[str | None, int, int]:
    """The next voucher number's seed, the transactions and the reversals in the journal."""
    conn: sqlite3.Connection = pos.journal.conn
    stan = conn.execute("SELECT value FROM meta WHERE key = 'stan'").fetchone()
    txns = conn.execute("SELECT count(*) FROM txns").fetchone()[0]
    reversals = conn.execute("SELECT count(*) FROM reversals").fetchone()[0]
    return (None if stan is None else stan[0]), txns, reversals


@pytest.mark.parametrize(
    ("pin", "reason"),
    [("12ab56", "format"), ("123", "length"), ("1234567890123", "length"), ("１２３４", "format")],
)
async def test_a_bad_pin_is_refused_before_a_voucher_number_is_used(
    tmp_path: Path, sqlite_url: str, pin: str, reason: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        pos = open_pos(make_terminal(tmp_path / "t", host.port))
        try:
            await pos.sign_on()
            before = journal_rows(pos)
            with pytest.raises(Refused) as info:
                await pos.sale(CUP_PAN, 1200, expiry="3012", pin=pin)
            err = info.value
            assert (err.code, err.details["reason"]) == ("input.pin", reason)
            assert CJK.search(err.zh) and pin not in err.en + err.zh
            assert journal_rows(pos) == before  # no STAN taken, no sale, no reversal
            assert [e.code for e in pos.journal.events(EventKind.REFUSED)] == ["input.pin"]
            good = await pos.sale(CUP_PAN, 1200, expiry="3012", pin="123456")
            assert good.approved
        finally:
            await pos.close()
    assert [int(e["stan"]) for e in ledger(sqlite_url, TID)] == [good.stan]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"orig_stan": 0}, "stan"),
        ({"orig_batch": 1_000_000}, "batch"),
        ({"orig_date": "1332"}, "date"),
        ({"rrn": "12-45"}, "rrn"),
    ],
)
async def test_a_refund_with_a_bad_original_is_refused_before_anything_is_sent(
    tmp_path: Path, sqlite_url: str, kwargs: dict[str, object], reason: str
) -> None:
    pos = open_pos(make_terminal(tmp_path / "t", 9))  # nothing may be sent: no host at all
    try:
        before = journal_rows(pos)
        ref: dict[str, object] = {"orig_batch": 1, "orig_stan": 5, **kwargs}
        with pytest.raises(Refused) as info:
            await pos.refund(100, pan=CUP_PAN, **ref)  # type: ignore[arg-type]
        assert (info.value.code, info.value.details["reason"]) == ("input.original", reason)
        assert journal_rows(pos) == before
    finally:
        await pos.close()


async def test_a_refund_above_what_is_left_is_refused_here_with_the_figure(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        pos = open_pos(make_terminal(tmp_path / "t", host.port))
        try:
            await pos.sign_on()
            sale = await pos.sale(CUP_PAN, 3000, expiry="3012")
            part = await pos.refund(2900, orig_batch=sale.batch, orig_stan=sale.stan)
            assert part.approved
            before = journal_rows(pos)
            with pytest.raises(Refused) as info:
                await pos.refund(101, orig_batch=sale.batch, orig_stan=sale.stan)
            err = info.value
            assert (err.code, err.details["reason"]) == ("input.amount", "over_refundable")
            assert err.details["refundable"] == 100
            assert "¥1.00 left to refund" in err.en
            assert "可退金额 ¥1.00" in err.zh
            assert journal_rows(pos) == before  # no STAN, no row: the host never hears of it
            rest = await pos.refund(100, orig_batch=sale.batch, orig_stan=sale.stan)
            assert rest.approved
            with pytest.raises(Refused) as info:
                await pos.refund(1, orig_batch=sale.batch, orig_stan=sale.stan)
            assert "¥0.00 left to refund" in info.value.en
        finally:
            await pos.close()
    assert [e["kind"] for e in ledger(sqlite_url, TID)] == ["sale", "refund", "refund"]


async def test_a_refund_of_a_sale_of_another_terminal_is_left_to_the_host(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    other = "87654321"
    await register(sqlite_url, key_file, {TID: KEYS["tmk"], other: KEYS["tmk"]})
    async with host_on_day(sqlite_url, key_file) as host:
        seller = open_pos(make_terminal(tmp_path / "a", host.port))
        refunder = open_pos(make_terminal(tmp_path / "b", host.port, tid=other))
        try:
            await seller.sign_on()
            sale = await seller.sale(CUP_PAN, 500, expiry="3012")
            await refunder.sign_on()
            over = await refunder.refund(
                501,
                orig_batch=sale.batch,
                orig_stan=sale.stan,
                orig_date="1126",
                rrn=sale.rrn,
                pan=CUP_PAN,
            )
            assert (over.state.value, over.code) == ("declined", "13")
        finally:
            await seller.close()
            await refunder.close()

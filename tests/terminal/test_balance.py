"""Balance enquiry (余额查询) through a real host and the issuer simulator.

The terminal sends a MACed 0200 with processing code 310000 and 60.1 ``01``; the host asks
the issuer (AuthKind.BALANCE) and answers the balance in field 54; the terminal shows it in
yuan, in both languages, without the card number, and journals no transaction: the batch,
the settlement and the host's ledger do not change.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.iso8583 import amounts
from possettle.link import requests as m
from possettle.terminal.config import JOURNAL_FILE
from possettle.upstream.rules import DEFAULT_BALANCE
from tests.host.harness import MID, TID, register
from tests.terminal.harness import CUP_PAN, make_terminal, open_pos
from tests.terminal.scenario import host_on_day, ledger


def journal_rows(directory: Path) -> tuple[int, int]:
    """(transactions, pending reversals) in the terminal's journal."""
    db = sqlite3.connect(f"file:{directory / JOURNAL_FILE}?mode=ro", uri=True)
    try:
        txns = db.execute("SELECT COUNT(*) FROM txns").fetchone()[0]
        reversals = db.execute("SELECT COUNT(*) FROM reversals").fetchone()[0]
    finally:
        db.close()
    return int(txns), int(reversals)


def invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


async def test_a_balance_enquiry_shows_the_balance_and_books_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            first = await pos.balance(CUP_PAN, expiry="3012", pin="123456")
            assert (first.code, first.balance) == ("00", DEFAULT_BALANCE)
            assert (await pos.sale(CUP_PAN, 1234, expiry="3012", pin="123456")).approved
            after = await pos.balance(CUP_PAN, expiry="3012", pin="123456")
            assert after.balance == DEFAULT_BALANCE - 1234  # the issuer's own figure
            assert pos.status()["transactions"] == 1
        finally:
            await pos.close()
        base = ["terminal", "balance", "--dir", str(term), "--pan", CUP_PAN, "--expiry", "3012"]
        code, text = await asyncio.to_thread(invoke, [*base, "--pin", "123456"])
        assert code == 0, text
        whole, fen = divmod(DEFAULT_BALANCE - 1234, 100)
        assert f"balance 余额: CNY {whole:,}.{fen:02d}" in text
        assert CUP_PAN not in text and CUP_PAN[-4:] not in text
        code, out = await asyncio.to_thread(invoke, [*base, "--pin", "999999", "--json"])
        assert code == 1
        data = json.loads(out)
        assert (data["ok"], data["code"], data["balance"]) == (False, "55", None)
        assert data["message"]["zh"]
        assert CUP_PAN not in out
    # the sale only: the enquiries are in neither the journal's batch nor the host's ledger
    assert journal_rows(term) == (1, 0)
    assert [e["amount"] for e in ledger(sqlite_url, TID)] == [1234]


async def test_the_host_answers_field_54_under_the_mac_and_refuses_an_unmaced_enquiry(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        link = host.link()
        await link.connect()
        assert (await link.sign_on()).code == "00"
        req = m.balance(
            TID, MID, link.next_stan(), link.batch, pan=CUP_PAN, expiry="3012",
            pin="123456", pik=link.pik,
        )  # fmt: skip
        assert (req["3"], req["60"][:2], "4" in req) == ("310000", "01", False)
        ex = await link.send(req)  # the link MACs the 0200 and checks the 0210's MAC
        assert ex.code == "00" and "64" in ex.reply
        (found,) = amounts.parse(ex.reply["54"])
        assert (found.amount_type, found.currency, found.minor) == ("02", "156", DEFAULT_BALANCE)
        await link.close()


@pytest.mark.parametrize("pan", [CUP_PAN])
def test_nothing_printed_names_the_card(pan: str) -> None:
    # the result type has no field that could carry card data
    from possettle.terminal.enquiry import BalanceResult

    assert not re.search("pan|card|track", " ".join(BalanceResult.__dataclass_fields__))

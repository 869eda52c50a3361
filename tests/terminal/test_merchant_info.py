"""The merchant's name and address come from the host at sign-on and are printed on receipts
and slips (possettle's 0810 field 62 extension); without it everything works as before.
Also: a terminal re-keyed at the host works again only with the new TMK."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.crypto.keys import FIELD62_LENGTH, Key
from possettle.host.edits import edit_merchant
from possettle.iso8583 import merchant_info
from possettle.ledger.engine import create_engine_for
from possettle.terminal.errors import HostRefused
from possettle.terminal.operations.signon import SignedOn, after_sign_on
from possettle.terminal.printer.documents import document_from_dict
from possettle.terminal.printer.layout import render_text
from possettle.terminal.setup import init_terminal
from tests.host.harness import MID, TID, TMK, register
from tests.terminal.harness import CUP_PAN, make_terminal, open_pos
from tests.terminal.scenario import host_on_day, ledger

NAME, ADDRESS = "好运来便利店", "上海市浦东新区世纪大道100号"


def set_merchant(url: str, **values: str) -> None:
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            edit_merchant(conn, MID, **values)
    finally:
        engine.dispose()


def printed(directory: Path) -> list[str]:
    """Every queued or printed document, rendered as on paper (58 mm)."""
    import sqlite3

    db = sqlite3.connect(directory / "journal.db")
    try:
        docs = [json.loads(r[0]) for r in db.execute("SELECT doc FROM print_queue ORDER BY id")]
    finally:
        db.close()
    return ["\n".join(render_text(document_from_dict(d))) for d in docs]


async def test_receipts_and_slips_print_the_name_and_address_the_host_sent(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    set_merchant(sqlite_url, name=NAME, address=ADDRESS)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 1200, expiry="3012")).approved
            set_merchant(sqlite_url, name="好运来超市")
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 300, expiry="3012")).approved
            assert (await pos.settle()).ok
        finally:
            await pos.close()
    first, second, slip = printed(term)
    assert NAME in first and ADDRESS in first and "possettle merchant" not in first
    assert "好运来超市" in second and ADDRESS in second
    assert "好运来超市" in slip and "ADDRESS 地址" in slip


async def test_a_host_that_sends_no_merchant_info_leaves_the_configured_name(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port, merchant_name="Corner shop")
        pos = open_pos(term)
        try:
            # an older host: it answers the page's 40-byte field 62 whatever the 0800 asks
            link = host.link()
            await link.connect()
            plain = await link.sign_on()
            await link.close()
            assert len(plain.reply["62"]) == 2 * FIELD62_LENGTH
            outcome = after_sign_on(plain.reply, TMK)
            assert isinstance(outcome, SignedOn) and outcome.merchant is None
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 500, expiry="3012")).approved
        finally:
            await pos.close()
    (receipt,) = printed(term)
    # The host's registered name is "Test shop": this terminal asked, so it prints that.
    assert "Test shop" in receipt and "ADDRESS" not in receipt


def test_an_unreadable_extension_keeps_the_keys_and_drops_the_merchant_info() -> None:
    from possettle.crypto.keys import encode_field62, issue_working_keys

    keys, field62 = issue_working_keys(TMK)
    good = field62 + merchant_info.encode(
        merchant_info.MerchantInfo(NAME, None), merchant_info.WANTED
    )
    reply = {"39": "00", "60": "00000001003", "62": good.hex()}
    outcome = after_sign_on(reply, TMK)
    assert isinstance(outcome, SignedOn) and outcome.merchant == merchant_info.MerchantInfo(
        NAME, None
    )
    broken = {**reply, "62": (field62 + b"\x01\x50abc").hex()}
    outcome = after_sign_on(broken, TMK)
    assert isinstance(outcome, SignedOn) and outcome.merchant is None
    assert outcome.keys.mak.hex() == keys.mak.hex()
    assert encode_field62(TMK, keys) == field62


@pytest.mark.parametrize(
    ("text", "limit"), [("店" * 60, merchant_info.NAME_MAX_BYTES), ("a" * 300, 240)]
)
def test_long_text_is_cut_at_a_character_boundary(text: str, limit: int) -> None:
    tags = frozenset({merchant_info.TAG_NAME})
    wire = merchant_info.encode(merchant_info.MerchantInfo(text, None), tags)
    assert len(wire) - 2 <= min(limit, merchant_info.NAME_MAX_BYTES)
    name = merchant_info.decode(wire).name
    assert name is not None and text.startswith(name)


async def test_a_rekeyed_terminal_signs_on_only_with_its_new_tmk(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 100, expiry="3012")).approved
            args = ["host", "terminal", "rekey", "--db", sqlite_url, "--key-file", str(key_file)]
            result = await asyncio.to_thread(
                CliRunner().invoke, app, [*args, "--tid", TID, "--json"]
            )
            assert result.exit_code == 0, result.output
            new_tmk = Key.from_hex(json.loads(result.output)["tmk"])
            # the old working keys are gone at the host: the sale is refused, not booked
            refused = await pos.sale(CUP_PAN, 200, expiry="3012")
            assert (refused.approved, refused.code) == (False, "22")
            with pytest.raises(HostRefused) as info:
                await pos.sign_on()  # the old TMK cannot read the new keys
            assert info.value.code == "keys"
        finally:
            await pos.close()
        cfg = open_pos(term)
        config = cfg.config
        await cfg.close()
        init_terminal(term, config, new_tmk, force=True)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 300, expiry="3012")).approved
        finally:
            await pos.close()
    assert [e["amount"] for e in ledger(sqlite_url, TID)] == [100, 300]

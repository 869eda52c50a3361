"""A settlement needs the terminal's MAC key (docs/protocol.md, "Settlement and batch upload
are MACed").

0500 and both kinds of 0320 carry field 64 under the working MAK. By default the host refuses
one without a MAC, or with a MAC that does not verify, with ``A0`` and the sign-on requirement,
books nothing and leaves the batch as it was. The ``settlement_mac = optional`` host policy
(``possettle host policy --settlement-mac optional``) accepts a settlement without field 64
from a fleet that cannot MAC it — less safe: anyone who knows a TID and MID can then close that
terminal's batch — but a MAC that is present must still verify.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from possettle.clock import FixedClock
from possettle.crypto.keys import Key
from possettle.host.policy import SETTLEMENT_MAC, PolicyCache, SettlementMac
from possettle.iso8583.codec import Fields
from possettle.iso8583.fields import HalfTotals, NetworkCode, SettlementTotals, UploadRecord
from possettle.ledger.database import Database
from possettle.ledger.queries import set_policy
from possettle.link import requests as m
from possettle.link.client import Link
from tests.host.harness import MID, PAN, TID, RunningHost, register, running_host
from tests.terminal.scenario import batch_row, live_totals

WRONG_MAK = Key.from_hex("0123456789ABCDEF")
NOBODYS_TMK = Key.from_hex("00112233445566778899AABBCCDDEEFF")


def totals(amount: int, count: int) -> SettlementTotals:
    return SettlementTotals(HalfTotals(amount, count, 0, 0), HalfTotals(0, 0, 0, 0))


async def signed_on(host: RunningHost) -> Link:
    link = host.link()
    assert (await link.sign_on()).code == "00"
    return link


async def three_sales(link: Link) -> None:
    for amount in (1200, 3400, 5600):
        sale = m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=amount, expiry="3012")
        assert (await link.send(sale)).code == "00"


def stranger(host: RunningHost) -> Link:
    """Someone holding a receipt: the TID and MID, no key (nothing it sends is MACed)."""
    link = host.link(tmk=NOBODYS_TMK)
    assert link.mak is None
    return link


def settle_fields(stan: int, claim: SettlementTotals | None = None) -> Fields:
    return m.settlement(TID, MID, stan, 1, claim or totals(10200, 3))


def upload_fields(stan: int) -> Fields:
    return m.batch_upload(TID, MID, stan, 1, [UploadRecord(True, 1, PAN, 1200)])


def end_fields(stan: int) -> Fields:
    return m.upload_end(TID, MID, stan, 1, 1, balanced=False)


async def set_settlement_mac(url: str, key_file: Path, value: str) -> None:
    """``possettle host policy --settlement-mac VALUE``, as the ledger sees it."""
    db = Database.open(url, key_file=key_file, migrate=False)
    await db.start()
    try:
        await db.write(lambda c: set_policy(c, SETTLEMENT_MAC, value))
    finally:
        await db.close()


@pytest.fixture
async def ledger(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    yield db_url, key_file


async def test_a_settlement_without_a_mac_is_refused_with_a0_and_the_batch_stays_open(
    ledger: tuple[str, Path],
) -> None:
    url, key_file = ledger
    async with running_host(url, key_file) as host:
        link = await signed_on(host)
        await three_sales(link)
        forger = stranger(host)
        settle = await forger.send(settle_fields(900001, totals(0, 0)))
        end = await forger.send(m.upload_end(TID, MID, 900002, 1, 0, balanced=False))
        assert (settle.code, end.code) == ("A0", "A0")
        assert settle.header.requirement == end.header.requirement == 3
        assert "64" not in settle.reply and "48" not in settle.reply  # no host totals leak
        await forger.close()
        assert batch_row(url, TID, 1)["status"] == "open"
        assert live_totals(url, TID, 1) == (10200, 3, 0, 0)

        # The real terminal signs on again (the host asked for it) and settles on its MAC.
        assert (await link.sign_on()).code == "00"
        ex = await link.send(settle_fields(link.next_stan(), totals(10200, 3)))
        assert ex.code == "00" and ex.reply["48"][30] == "1"
        assert "64" in ex.reply  # an approved 0510 is MACed; Link.send verified it
        end = await link.send(m.upload_end(TID, MID, link.next_stan(), 1, 0, balanced=True))
        assert end.code == "00" and "64" in end.reply
        await link.close()
    assert batch_row(url, TID, 1)["status"] == "closed"


@pytest.mark.parametrize("build", [settle_fields, upload_fields, end_fields])
async def test_a_settlement_message_with_a_wrong_mac_is_refused_with_a0(
    ledger: tuple[str, Path], build: Callable[[int], Fields]
) -> None:
    url, key_file = ledger
    async with running_host(url, key_file) as host:
        link = await signed_on(host)
        await three_sales(link)
        if build is not settle_fields:  # uploads follow an accepted 0500 (unbalanced here)
            ex = await link.send(settle_fields(link.next_stan(), totals(1200, 1)))
            assert ex.code == "00" and ex.reply["48"][30] == "2"
        good = link.mak
        link.mak = WRONG_MAK
        ex = await link.send(build(link.next_stan()))
        assert ex.code == "A0" and ex.header.requirement == 3
        assert "64" not in ex.reply
        link.mak = good
        # a bad MAC is handled as for a sale: the terminal must sign on again
        echo = await link.send(m.management(TID, MID, link.next_stan(), 1, NetworkCode.ECHO))
        assert echo.header.requirement == 3
        await link.close()
    assert batch_row(url, TID, 1)["status"] == ("open" if build is settle_fields else "settling")
    assert batch_row(url, TID, 1)["uploaded_records"] == 0


async def test_a_settlement_from_a_terminal_that_is_not_signed_on_is_refused(
    ledger: tuple[str, Path],
) -> None:
    url, key_file = ledger
    async with running_host(url, key_file) as host:
        link = await signed_on(host)
        await three_sales(link)
        off = await link.send(m.management(TID, MID, link.next_stan(), 1, NetworkCode.SIGN_OFF))
        assert off.code == "00"
        ex = await link.send(settle_fields(link.next_stan(), totals(10200, 3)))
        assert ex.code == "22" and ex.header.requirement == 3
        await link.close()
    assert batch_row(url, TID, 1)["status"] == "open"


async def test_under_optional_an_unmaced_settlement_is_accepted_and_answered_unmaced(
    ledger: tuple[str, Path],
) -> None:
    """The documented less-safe mode: a fleet that cannot MAC settlements still settles."""
    url, key_file = ledger
    await set_settlement_mac(url, key_file, "optional")
    async with running_host(url, key_file) as host:
        link = await signed_on(host)
        await three_sales(link)
        old_build = stranger(host)  # a terminal build that cannot MAC a settlement
        ex = await old_build.send(settle_fields(900001, totals(10200, 3)))
        assert ex.code == "00" and ex.reply["48"][30] == "1"
        assert "64" not in ex.reply  # it could not check a MAC either
        end = await old_build.send(m.upload_end(TID, MID, 900002, 1, 0, balanced=True))
        assert end.code == "00" and "64" not in end.reply
        await old_build.close()
        await link.close()
    assert batch_row(url, TID, 1)["status"] == "closed"


async def test_under_optional_a_mac_that_is_present_must_still_verify(
    ledger: tuple[str, Path],
) -> None:
    url, key_file = ledger
    await set_settlement_mac(url, key_file, "optional")
    async with running_host(url, key_file) as host:
        link = await signed_on(host)
        await three_sales(link)
        good = link.mak
        link.mak = WRONG_MAK
        ex = await link.send(settle_fields(link.next_stan(), totals(10200, 3)))
        assert ex.code == "A0" and ex.header.requirement == 3
        link.mak = good
        assert (await link.sign_on()).code == "00"
        ex = await link.send(settle_fields(link.next_stan(), totals(10200, 3)))
        assert ex.code == "00" and "64" in ex.reply  # MACed request, MACed approval
        await link.close()


async def test_a_policy_change_reaches_a_running_host(ledger: tuple[str, Path]) -> None:
    url, key_file = ledger
    async with running_host(url, key_file, policy_cache_ttl=0) as host:
        link = await signed_on(host)
        old_build = stranger(host)
        ex = await old_build.send(settle_fields(900001, totals(0, 0)))
        assert ex.code == "A0"
        await set_settlement_mac(url, key_file, "optional")
        assert (await link.sign_on()).code == "00"  # the A0 asked for a fresh sign-on
        ex = await old_build.send(settle_fields(900002, totals(0, 0)))
        assert ex.code == "00"
        await set_settlement_mac(url, key_file, "required")
        end = await old_build.send(m.upload_end(TID, MID, 900003, 1, 0, balanced=True))
        assert end.code == "A0"
        await old_build.close()
        await link.close()
    assert batch_row(url, TID, 1)["status"] == "settling"


async def test_the_policy_is_read_from_the_ledger_once_per_ttl(
    sqlite_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    clock = FixedClock(datetime(2026, 11, 26, tzinfo=UTC))
    db = Database.open(sqlite_url, key_file=key_file, clock=clock)
    await db.start()
    try:
        policy = PolicyCache(db, ttl=5.0)
        assert await policy.settlement_mac() is SettlementMac.REQUIRED  # the default
        await db.write(lambda c: set_policy(c, SETTLEMENT_MAC, "optional"))
        clock.advance(4.9)
        assert await policy.settlement_mac() is SettlementMac.REQUIRED  # cached
        clock.advance(0.1)
        assert await policy.settlement_mac() is SettlementMac.OPTIONAL  # read again
        await db.write(lambda c: set_policy(c, SETTLEMENT_MAC, "sometimes"))
        clock.advance(5.0)
        # a value nobody can have meant fails safe: MACs are required
        assert await policy.settlement_mac() is SettlementMac.REQUIRED
    finally:
        await db.close()

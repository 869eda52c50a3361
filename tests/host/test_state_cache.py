"""The sale path's terminal-state cache never books on a stale view (two hosts, one ledger).

Host A caches the terminal's state on its first sale; host B (another process in production,
another server here) or the CLI then changes the terminal behind A's back. A's next sale
must decide on the ledger's state: new keys are accepted, old keys refused, a disabled
terminal or a closed batch books nothing and the issuer's approval is reversed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from possettle.clock import FixedClock
from possettle.crypto.keys import Key
from possettle.host import registry
from possettle.host.state_cache import TerminalStateCache
from possettle.iso8583.fields import HalfTotals, SettlementTotals
from possettle.ledger.database import Database
from possettle.ledger.kinds import BatchStatus
from possettle.ledger.schema import ledger_entries
from possettle.ledger.terminal_state import TerminalState
from possettle.link import requests as m
from possettle.link.client import Link
from possettle.upstream.simulator import SimulatorConnector
from tests.host.harness import MID, PAN, TID, RunningHost, register, running_host


@pytest.fixture
async def two_hosts(
    db_url: str, tmp_path: Path
) -> AsyncIterator[tuple[RunningHost, RunningHost, str, Path]]:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with running_host(db_url, key_file) as a, running_host(db_url, key_file) as b:
        yield a, b, db_url, key_file


async def sale(link: Link, amount: int) -> str:
    ex = await link.send(
        m.sale(TID, MID, link.next_stan(), link.batch, pan=PAN, amount=amount, expiry="3012")
    )
    return ex.code


async def sales_booked(url: str, key_file: Path) -> int:
    db = Database.open(url, key_file=key_file, migrate=False)
    query = sa.select(sa.func.count()).select_from(ledger_entries)
    try:
        return int(await db.read(lambda c: c.execute(query).scalar_one()))
    finally:
        await db.close()


async def warm(host: RunningHost, link: Link) -> None:
    """Two sales: the first opens the batch (and drops the entry), the second caches it."""
    assert await sale(link, 100) == "00"
    assert await sale(link, 100) == "00"
    assert host.server.service.ctx.terminals.get(TID) is not None


def issuer_balance(host: RunningHost) -> int:
    issuer = host.server.issuer
    assert isinstance(issuer, SimulatorConnector)
    return issuer.balance(PAN)


async def test_a_sign_on_elsewhere_brings_the_new_keys_and_retires_the_old(
    two_hosts: tuple[RunningHost, RunningHost, str, Path],
) -> None:
    a, b, url, key_file = two_hosts
    at_a = a.link()
    assert (await at_a.sign_on()).code == "00"
    await warm(a, at_a)  # A now caches the terminal with these keys
    old_mak = at_a.mak
    at_b = b.link()
    at_b.stan = at_a.stan
    assert (await at_b.sign_on()).code == "00"
    at_a.stan, at_a.mak = at_b.stan, at_b.mak
    assert await sale(at_a, 200) == "00", "A must verify the MAC with the ledger's new key"
    at_a.mak = old_mak
    assert await sale(at_a, 300) == "A0", "A must not accept the retired key from its cache"
    assert await sales_booked(url, key_file) == 3
    await at_a.close()
    await at_b.close()


async def test_a_terminal_disabled_behind_the_hosts_back_books_nothing(
    two_hosts: tuple[RunningHost, RunningHost, str, Path],
) -> None:
    a, _, url, key_file = two_hosts
    link = a.link()
    assert (await link.sign_on()).code == "00"
    await warm(a, link)
    before = issuer_balance(a)
    db = Database.open(url, key_file=key_file, migrate=False)
    await db.start()
    try:  # what `possettle host terminal disable` does: a write straight to the ledger
        await db.write(lambda c: registry.set_terminal_status(c, TID, "disabled"))
    finally:
        await db.close()
    assert await sale(link, 500) == "97"
    assert await sales_booked(url, key_file) == 2
    # The reversal is stored with the 97 and sent by the host's durable sender.
    for _ in range(500):
        if issuer_balance(a) == before:
            break
        await asyncio.sleep(0.01)
    assert issuer_balance(a) == before, "the issuer's approval must have been reversed"
    await link.close()


async def test_a_batch_settled_on_another_host_takes_no_more_sales(
    two_hosts: tuple[RunningHost, RunningHost, str, Path],
) -> None:
    a, b, url, key_file = two_hosts
    at_a = a.link()
    assert (await at_a.sign_on()).code == "00"
    await warm(a, at_a)
    at_b = b.link()
    at_b.stan, at_b.mak = at_a.stan, at_a.mak
    totals = SettlementTotals(HalfTotals(200, 2), HalfTotals())
    ex = await at_b.send(m.settlement(TID, MID, at_b.next_stan(), 1, totals))
    assert SettlementTotals.parse(ex.reply["48"]).balanced
    end = await at_b.send(m.upload_end(TID, MID, at_b.next_stan(), 1, 0, balanced=True))
    assert end.code == "00"
    at_a.stan = at_b.stan
    assert await sale(at_a, 700) == "77", "batch 1 is closed: A's cached batch is stale"
    assert await sales_booked(url, key_file) == 2
    await at_a.close()
    await at_b.close()


async def test_the_next_batch_opened_elsewhere_is_sold_into_at_once(
    two_hosts: tuple[RunningHost, RunningHost, str, Path],
) -> None:
    """A's cache still says batch 1; the terminal settled at B and, as protocol §4 says,
    went on with batch 2 (same keys, no sign-on). A refusal (77) decided on the cache alone
    is confirmed against the ledger first: it does not hold."""
    a, b, url, key_file = two_hosts
    at_a = a.link()
    assert (await at_a.sign_on()).code == "00"
    await warm(a, at_a)
    at_b = b.link()
    at_b.stan, at_b.mak = at_a.stan, at_a.mak
    totals = SettlementTotals(HalfTotals(200, 2), HalfTotals())
    await at_b.send(m.settlement(TID, MID, at_b.next_stan(), 1, totals))
    assert (
        await at_b.send(m.upload_end(TID, MID, at_b.next_stan(), 1, 0, balanced=True))
    ).code == "00"
    at_a.stan, at_a.batch = at_b.stan, 2
    assert await sale(at_a, 800) == "00"
    assert await sales_booked(url, key_file) == 3
    await at_a.close()
    await at_b.close()


def _state(tid: str) -> TerminalState:
    return TerminalState(
        tid=tid,
        mid=MID,
        active=True,
        merchant_active=True,
        current_batch=1,
        batch_status=BatchStatus.OPEN,
        batch_exists=True,
        signed_on=True,
        needs_signon=False,
        tmk=Key.from_hex("0123456789ABCDEFFEDCBA9876543210"),
        pik=None,
        mak=None,
        region=None,
    )


def test_cache_entries_expire_after_the_ttl_and_can_be_dropped() -> None:
    clock = FixedClock(datetime(2026, 11, 26, tzinfo=UTC))
    cache = TerminalStateCache(clock, ttl=5.0)
    cache.put(_state(TID))
    clock.advance(4.9)
    assert cache.get(TID) is not None
    clock.advance(0.1)
    assert cache.get(TID) is None
    cache.put(_state(TID))
    cache.drop(TID)
    assert cache.get(TID) is None


def test_a_zero_ttl_caches_nothing_and_a_full_cache_drops_its_oldest() -> None:
    clock = FixedClock(datetime(2026, 11, 26, tzinfo=UTC))
    off = TerminalStateCache(clock, ttl=0)
    off.put(_state(TID))
    assert len(off) == 0 and off.get(TID) is None
    small = TerminalStateCache(clock, ttl=60, max_entries=10)
    for i in range(11):
        small.put(_state(f"T{i:07d}"))
    assert small.get("T0000000") is None and small.get("T0000010") is not None
    assert len(small) == 10

"""Upstream reversals through a running host on real sockets, with an ISO 8583 issuer.

The host owes the issuer a 0400 whenever an authorization got no usable answer or was
approved and not booked; a reply that arrives after the timeout is recorded and goes with
the reversal (its authorization code in field 38).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from possettle.host.reversals.store import ReversalRow, list_reversals
from possettle.ledger.kinds import ReversalState
from possettle.ledger.schema import host_events
from possettle.link import requests as m
from possettle.link.client import Link
from tests.host.harness import MID, PAN, TID, RunningHost, register, running_host
from tests.upstream.fake_issuer import Drop, FakeIssuer, Reply

FAST = {
    "issuer_timeout": 0.3,
    "reversal_timeout": 0.5,
    "reversal_retry_initial": 0.1,
    "reversal_retry_max": 0.5,
    "reversal_lease": 2.0,
    "reversal_poll": 0.1,
}


@pytest.fixture
async def issuer() -> AsyncIterator[FakeIssuer]:
    async with FakeIssuer() as fake:
        yield fake


@pytest.fixture
async def host(db_url: str, tmp_path: Path, issuer: FakeIssuer) -> AsyncIterator[RunningHost]:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    spec = f"iso8583://127.0.0.1:{issuer.port}?timeout=2"
    async with running_host(db_url, key_file, issuer=spec, **FAST) as h:  # type: ignore[arg-type]
        yield h


async def signed_on(host: RunningHost) -> Link:
    link = host.link()
    assert (await link.sign_on()).code == "00"
    return link


def sale_request(link: Link, amount: int) -> dict[str, str]:
    return m.sale(TID, MID, link.next_stan(), link.batch, pan=PAN, amount=amount, expiry="3012")


async def reversals(host: RunningHost) -> list[ReversalRow]:
    return await host.server.db.read(list_reversals)


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(1000):
        if await check():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"never: {what}")


async def test_a_late_approval_is_recorded_and_reversed_with_its_auth_code(
    host: RunningHost, issuer: FakeIssuer
) -> None:
    link = await signed_on(host)
    issuer.script["0200"] = [Reply(delay=0.6)]  # approved, but after the host gave up
    issuer.actions["0400"] = Drop()  # and the reversal waits until the late reply is in
    late = await link.send(sale_request(link, 4_200))
    assert late.code == "98"

    async def late_reply_recorded() -> bool:
        rows = await reversals(host)
        return bool(rows) and rows[0].late_reply_code == "00"

    await eventually(late_reply_recorded, "the late 0210 is recorded on the reversal")
    del issuer.actions["0400"]
    answered = await link.send(sale_request(link, 1_000))
    assert answered.code == "00"

    async def acknowledged() -> bool:
        rows = await reversals(host)
        return bool(rows) and rows[0].state is ReversalState.ACKNOWLEDGED

    await eventually(acknowledged, "the late-approved sale's reversal is acknowledged")
    [row] = await reversals(host)
    assert (row.rrn, row.reason, row.late_reply_code) == (late.reply["37"], "98", "00")
    *_, reversal = issuer.of_type("0400")
    assert {r["37"].strip() for r in issuer.of_type("0400")} == {late.reply["37"]}
    assert reversal["38"].strip() == "A1B2C3"  # the authorization code of the late 0210
    kinds = await host.server.db.read(
        lambda c: c.execute(sa.select(host_events.c.kind)).scalars().all()
    )
    assert "upstream_late_reply" in kinds
    await link.close()


async def test_an_approval_the_terminal_reversed_meanwhile_is_reversed_upstream(
    host: RunningHost, issuer: FakeIssuer
) -> None:
    link = await signed_on(host)
    other = host.link()  # the terminal's reversal comes on a second connection
    other.pik, other.mak, other.batch = link.pik, link.mak, link.batch
    issuer.script["0200"] = [Reply(delay=0.2)]
    req = sale_request(link, 3_300)
    pending = asyncio.create_task(link.send(req))
    await issuer.wait_for("0200")
    assert (await other.send(m.reversal(req, "98"))).code == "25"  # before its original
    assert (await pending).code == "12"

    async def acknowledged() -> bool:
        rows = await reversals(host)
        return bool(rows) and rows[0].state is ReversalState.ACKNOWLEDGED

    await eventually(acknowledged, "the approval the host did not book is reversed")
    [row] = await reversals(host)
    [reversal] = issuer.of_type("0400")
    assert (row.reason, reversal["39"]) == ("12", "12")
    await link.close()
    await other.close()


async def test_a_terminal_reversal_of_a_booked_sale_reverses_it_upstream(
    host: RunningHost, issuer: FakeIssuer
) -> None:
    link = await signed_on(host)
    req = sale_request(link, 2_500)
    sold = await link.send(req)
    assert sold.code == "00"
    assert (await link.send(m.reversal(req, "98"))).code == "00"
    await issuer.wait_for("0400")
    [reversal] = issuer.of_type("0400")
    [original] = issuer.of_type("0200")
    assert reversal["37"] == original["37"] and reversal["11"] == original["11"]

    async def acknowledged() -> bool:
        rows = await reversals(host)
        return bool(rows) and rows[0].state is ReversalState.ACKNOWLEDGED

    await eventually(acknowledged, "the terminal's reversal is acknowledged upstream")
    await link.close()


async def test_an_answered_sale_leaves_no_reversal_row(
    db_url: str, tmp_path: Path, issuer: FakeIssuer
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    spec = f"iso8583://127.0.0.1:{issuer.port}"
    async with running_host(db_url, key_file, issuer=spec, **FAST) as host:  # type: ignore[arg-type]
        link = await signed_on(host)
        for amount in (100, 200):
            assert (await link.send(sale_request(link, amount))).code == "00"
        issuer.actions["0200"] = Reply("51")
        assert (await link.send(sale_request(link, 300))).code == "51"
        assert await reversals(host) == []
        await link.close()
    assert issuer.of_type("0400") == []

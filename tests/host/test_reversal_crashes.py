"""An authorization the issuer never answers is reversed at the issuer exactly once, whatever
moment the host is killed with SIGKILL between the upstream timeout and the acknowledgement.

One host (a real ``possettle host serve`` process) goes through a chain of starts on one
ledger; each start but the first and the last arms one named crash point
(``POSSETTLE_HOST_CRASH_AT``) and must die there by SIGKILL; the first is killed from outside
while its reversal waits for an answer that never comes (the issue's case). Between them the
terminal sends three sales the issuer approves but never answers (B1, B2, B3) and one it
answers (A). Against a third-party issuer (iso8583sim) and against the built-in simulator
(keeping its books in a state file, as a remote issuer would keep them across our crash):

* exactly one acknowledged reversal per unanswered authorization, none for A;
* the issuer received 0400s only for B1–B3, and the card's balance is back to the opening
  balance less A;
* each reversal is logged acknowledged exactly once over all the host's processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from possettle.ledger.kinds import ReversalState
from possettle.link import requests as m
from possettle.link.client import Link, LinkError
from possettle.upstream.simulator import SimulatorBooks
from tests.host.harness import KEYS, MID, PAN, TID, TMK, register
from tests.host.reversal_issuer import OPENING, BookkeepingIssuer
from tests.host.reversal_support import (
    HostRun,
    acknowledgements,
    entry_count,
    eventually,
    reversal_rows,
)

ANSWERED = 1_000
B1, B2, B3 = 90_001, 90_002, 90_003  # approved and debited by the issuer, never answered


@dataclass
class Issuer:
    """What the chain needs of either issuer: its spec, and its books read back."""

    spec: str
    reversals_received: Callable[[str], int]  # 0400s for an RRN
    authorizations: Callable[[], set[str]]  # RRNs it was asked to authorize
    reversed_rrns: Callable[[], set[str]]  # RRNs it received a 0400 for
    balance: Callable[[], int]


async def sale(link: Link, amount: int) -> str | None:
    """The response code, or None when the host died before answering."""
    req = m.sale(link.tid, MID, link.next_stan(), link.batch, pan=PAN, amount=amount, expiry="3012")
    try:
        return (await link.send(req)).code
    except LinkError:
        return None


async def sign_on(link: Link) -> None:
    await link.close()  # a new connection to the restarted host; the STANs go on
    assert (await link.sign_on()).code == "00"


async def run_chain(tmp_path: Path, url: str, issuer: Issuer) -> None:
    key_file = tmp_path / "host.key"
    await register(url, key_file)
    host = HostRun(url, key_file, issuer.spec, tmp_path)

    async def dies_at(point: str, action: Callable[[], Awaitable[None]] | None = None) -> None:
        await host.start(point)
        if action is not None:
            await action()
        assert await host.died_by_sigkill(), f"the host did not die at crash point {point}"

    # 1. The case: B1 unanswered, its reversal unanswered too, then kill -9.
    await host.start()
    link = host.link()
    await sign_on(link)
    assert await sale(link, ANSWERED) == "00"
    assert await sale(link, B1) == "98"
    [b1] = [r.rrn for r in await reversal_rows(url) if r.amount == B1]

    async def b1_reversal_in_flight() -> bool:
        return issuer.reversals_received(b1) >= 1

    await eventually(b1_reversal_in_flight, "the issuer receives B1's first 0400")
    await host.kill()
    await link.close()

    # 2. Each named point along B1's reversal, then B2's and B3's.
    await dies_at("reversal.claimed")
    await dies_at("reversal.answered")
    await dies_at("reversal.acknowledged")

    async def send(amount: int) -> None:
        await sign_on(link)
        await sale(link, amount)

    await dies_at("upstream.timed_out", lambda: send(B2))
    await dies_at("reversal.retry_scheduled")
    await dies_at("upstream.reversal_stored", lambda: send(B3))

    # 3. A last start works off whatever is left.
    await host.start()
    try:

        async def all_acknowledged() -> bool:
            rows = await reversal_rows(url)
            return len(rows) == 3 and all(r.state is ReversalState.ACKNOWLEDGED for r in rows)

        await eventually(all_acknowledged, "three acknowledged reversals in the ledger")
    finally:
        await link.close()
        await host.stop()

    rows = await reversal_rows(url)
    assert sorted(r.amount for r in rows) == [B1, B2, B3]
    assert [r.state for r in rows] == [ReversalState.ACKNOWLEDGED] * 3
    timed_out = {r.rrn for r in rows}
    answered = issuer.authorizations() - timed_out
    assert len(answered) == 1, "A was authorized once and answered"
    assert issuer.reversed_rrns() == timed_out, "0400s for exactly the unanswered ones"
    assert issuer.balance() == OPENING - ANSWERED
    assert await entry_count(url) == 1  # only A is booked
    acks = host.acknowledgements()
    assert {rrn: acks[rrn] for rrn in timed_out} == dict.fromkeys(timed_out, 1)


async def test_reversals_survive_sigkill_at_every_point_with_a_third_party_issuer(
    tmp_path: Path, sqlite_url: str
) -> None:
    fake = BookkeepingIssuer(lost_amounts={B1, B2, B3}, reversal_stalls=2)
    await fake.start("127.0.0.1", 0)
    try:
        issuer = Issuer(
            spec=f"iso8583://127.0.0.1:{fake.port}?timeout=2",
            reversals_received=lambda rrn: fake.received[("0400", rrn)],
            authorizations=lambda: fake.rrns("0200"),
            reversed_rrns=lambda: fake.rrns("0400"),
            balance=lambda: fake.balance(PAN),
        )
        await run_chain(tmp_path, sqlite_url, issuer)
    finally:
        await fake.stop()


SIM_RULES = """
state_file = "issuer-books.json"

[[rules]]
min_amount = 90001
max_amount = 90003
lost_reply = true
reversal_no_reply = 2
"""


async def test_reversals_survive_sigkill_at_every_point_with_the_simulator(
    tmp_path: Path, sqlite_url: str
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(SIM_RULES)
    books_file = tmp_path / "issuer-books.json"

    def books() -> SimulatorBooks:
        return SimulatorBooks.read(books_file)

    issuer = Issuer(
        spec=f"sim:{rules}",
        reversals_received=lambda rrn: books().received.get(rrn, {}).get("reversal", 0),
        authorizations=lambda: {r for r, n in books().received.items() if n.get("auth")},
        reversed_rrns=lambda: {r for r, n in books().received.items() if n.get("reversal")},
        balance=lambda: books().balance(PAN, OPENING),
    )
    await run_chain(tmp_path, sqlite_url, issuer)


TID2 = "REVPG002"


async def test_two_hosts_on_one_postgresql_ledger_acknowledge_each_reversal_once(
    tmp_path: Path, pg_database: str
) -> None:
    lost = {90_011, 90_012, 90_013, 90_014, 90_015, 90_016}
    fake = BookkeepingIssuer(lost_amounts=lost, reversal_stalls=1)
    await fake.start("127.0.0.1", 0)
    key_file = tmp_path / "host.key"
    await register(pg_database, key_file, {TID: KEYS["tmk"], TID2: KEYS["tmk"]})
    spec = f"iso8583://127.0.0.1:{fake.port}?timeout=2"
    hosts = [HostRun(pg_database, key_file, spec, tmp_path) for _ in range(2)]
    try:
        await asyncio.gather(*(h.start() for h in hosts))
        links = [hosts[0].link(), Link("127.0.0.1", hosts[1].port, TID2, MID, TMK, timeout=10)]

        async def terminal(link: Link, amounts: list[int]) -> list[str | None]:
            await sign_on(link)
            codes = [await sale(link, amount) for amount in amounts]
            await link.close()
            return codes

        codes = await asyncio.gather(
            terminal(links[0], [ANSWERED, 90_011, 90_012, 90_013]),
            terminal(links[1], [ANSWERED, 90_014, 90_015, 90_016]),
        )
        assert codes == [["00", "98", "98", "98"]] * 2

        async def all_acknowledged() -> bool:
            rows = await reversal_rows(pg_database)
            return len(rows) == 6 and all(r.state is ReversalState.ACKNOWLEDGED for r in rows)

        await eventually(all_acknowledged, "six acknowledged reversals, both senders running")
    finally:
        await asyncio.gather(*(h.stop() for h in hosts))
        await fake.stop()
    rows = await reversal_rows(pg_database)
    assert sorted(r.amount for r in rows) == sorted(lost)
    timed_out = {r.rrn for r in rows}
    assert fake.rrns("0400") == timed_out
    assert fake.balance(PAN) == OPENING - 2 * ANSWERED
    acks = acknowledgements(tmp_path)
    assert {rrn: acks[rrn] for rrn in timed_out} == dict.fromkeys(timed_out, 1)

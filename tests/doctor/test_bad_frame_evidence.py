"""The host counts bad frames instead of writing an event each (issue 10); the doctor and
the console still read them as evidence: MAC errors since the last sign-on are keys out of
sync, format errors since the last closed batch a protocol mismatch, and a batch that closed
after one is *recovered*.

Real host, real sockets; the MAC errors come from a terminal whose MAC key is not the
host's, the format errors from frames cut short.
"""

from __future__ import annotations

from pathlib import Path

from possettle.clock import SystemClock
from possettle.console.data.settlements import settlements
from possettle.console.data.terminal import terminal
from possettle.crypto.keys import generate_key
from possettle.doctor.hostview import read_host
from possettle.doctor.run import diagnose_from_host
from possettle.ledger.engine import create_engine_for
from possettle.link import requests as m
from tests.doctor.harness import make_terminal, settle, trade
from tests.doctor.scenes import evidence
from tests.host.harness import MID, PAN, TID, RunningHost, register, running_host
from tests.host.test_bad_frames import sale, truncated
from tests.host.test_bad_input import raw_exchange


async def bad_macs(host: RunningHost, count: int) -> None:
    """Sign on, then send ``count`` sales MACed with a key the host never issued."""
    link = host.link()
    await link.connect()
    try:
        assert (await link.sign_on()).code == "00"
        link.mak = generate_key(16)
        for _ in range(count):
            sale_ = m.sale(TID, MID, link.next_stan(), link.batch, pan=PAN, amount=100)
            assert (await link.send(sale_)).code == "A0"
    finally:
        await link.close()


async def sign_on(host: RunningHost) -> None:
    link = host.link()
    await link.connect()
    try:
        assert (await link.sign_on()).code == "00"
    finally:
        await link.close()


async def test_bad_macs_are_key_evidence_until_a_sign_on_mends_them(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    engine = create_engine_for(sqlite_url)
    try:
        async with running_host(sqlite_url, key_file) as host:
            await bad_macs(host, 3)
            for stan in (1, 2):  # and two messages the host cannot parse
                await raw_exchange(host.port, truncated(sale(TID, stan)))
        facts = read_host(engine, TID, SystemClock().now())
        assert facts.bad_frames == {"mac_error": 3, "format_error": 2}
        report = diagnose_from_host(engine, TID)
        keys = next(d for d in report.diagnoses if d.cause.id == "keys.out_of_sync")
        assert evidence(keys)["bad_frames.mac_error"] == [3]
        page = terminal(engine, TID, SystemClock())
        assert page is not None
        assert {e["kind"] for e in page["timeline"]} >= {"mac_error", "format_error"}

        async with running_host(sqlite_url, key_file) as host:
            await sign_on(host)  # fresh working keys: the MAC errors are history
        facts = read_host(engine, TID, SystemClock().now())
        assert facts.bad_frames == {"mac_error": 0, "format_error": 2}
        report = diagnose_from_host(engine, TID)
        assert "keys.out_of_sync" not in {d.cause.id for d in report.diagnoses}
    finally:
        engine.dispose()


async def test_a_batch_that_closed_after_a_format_error_is_recovered(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    engine = create_engine_for(sqlite_url)
    try:
        async with running_host(sqlite_url, key_file) as host:
            term = make_terminal(tmp_path / "t", host.port)
            await trade(term)
            await raw_exchange(host.port, truncated(sale(TID, 99)))  # while the batch is open
            assert (await settle(term))["ok"] is True
        [batch] = settlements(engine)["settlements"]
        assert (batch["result"], batch["cause"]) == ("recovered", "protocol.incompatible")
        # the batch closed since: the format error is no longer evidence against the terminal
        assert read_host(engine, TID, SystemClock().now()).bad_frames["format_error"] == 0
    finally:
        engine.dispose()

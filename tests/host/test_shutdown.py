"""SIGTERM with a sale in flight: the host answers it and books it once, or does neither.

The host runs as its own process (as ``possettle host serve`` does, with ``shutdown_grace``
set) against an issuer simulator whose latency rule keeps one sale at the issuer while the
signal arrives. Whatever the timing, a reply never goes out without its ledger entry, new
connections are refused from the moment shutdown starts, and the process is gone within the
grace period.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from possettle.iso8583.codec import Fields
from possettle.iso8583.fields import NetworkCode
from possettle.ledger.database import Database
from possettle.ledger.schema import ledger_entries
from possettle.link import requests as m
from possettle.link.client import Exchange, Link, LinkError
from tests.host.harness import MID, PAN, TID, TMK, register

SLOW_AMOUNT = 77700
SERVE = """
import asyncio, sys
from pathlib import Path
from possettle.host.config import HostConfig
from possettle.host.server import serve
from possettle.logs import configure_logging

configure_logging()
url, port, key_file, issuer, grace = sys.argv[1:]
asyncio.run(serve(HostConfig(db_url=url, port=int(port), key_file=Path(key_file),
                             issuer=issuer, shutdown_grace=float(grace))))
"""
# Process exit after the grace period: closing the issuer, the ledger writer and the pool,
# then interpreter teardown.
EXIT_SLACK = 3.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HostProcess:
    def __init__(self, url: str, key_file: Path, workdir: Path, latency_ms: int, grace: float):
        rules = workdir / "rules.toml"
        rules.write_text(
            f"[[rules]]\nmin_amount = {SLOW_AMOUNT}\nmax_amount = {SLOW_AMOUNT}\n"
            f"latency_ms = {latency_ms}\n"
        )
        self.args = [url, "", str(key_file), f"sim:{rules}", str(grace)]
        self.log = workdir / "host.log"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.args[1] = str(self.port)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - a daemon we signal, not awaited I/O
                [sys.executable, "-c", SERVE, *self.args], stdout=log, stderr=log
            )
        for _ in range(300):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", self.port)
                w.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        self.kill()
        raise AssertionError(f"host did not start:\n{self.log.read_text()}")

    def link(self) -> Link:
        return Link("127.0.0.1", self.port, TID, MID, TMK, timeout=15.0)

    def terminate(self) -> float:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return time.monotonic()

    async def exited(self, within: float) -> int:
        """The exit code, once the process is gone (an assertion error after ``within`` s)."""
        assert self.proc is not None
        try:
            return await asyncio.to_thread(self.proc.wait, within)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"host still running {within}s after SIGTERM") from exc

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


async def booked(url: str, key_file: Path, stan: str) -> int:
    """Ledger entries for the terminal's STAN, read once the host has stopped."""
    db = Database.open(url, key_file=key_file, migrate=False)
    query = (
        sa.select(sa.func.count())
        .select_from(ledger_entries)
        .where(ledger_entries.c.tid == TID, ledger_entries.c.stan == stan)
    )
    try:
        return int(await db.read(lambda c: c.execute(query).scalar_one()))
    finally:
        await db.close()


async def refused(host: HostProcess) -> bool:
    """A new terminal cannot get an echo answered."""
    link = Link("127.0.0.1", host.port, TID, MID, TMK, timeout=2.0)
    try:
        await link.send(m.management(TID, MID, 1, 1, NetworkCode.ECHO))
    except LinkError:
        return True
    finally:
        await link.close()
    return False


async def sigterm_during_sale(
    url: str, tmp_path: Path, *, latency_ms: int, grace: float
) -> tuple[Fields, Exchange | None]:
    """Sign on, start a slow sale, SIGTERM while the issuer holds it; the sale and its fate."""
    key_file = tmp_path / "host.key"
    await register(url, key_file)
    host = HostProcess(url, key_file, tmp_path, latency_ms, grace)
    await host.start()
    try:
        link = host.link()
        assert (await link.sign_on()).code == "00"
        sale = m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=SLOW_AMOUNT, expiry="3012")
        in_flight = asyncio.create_task(link.send(sale))
        await asyncio.sleep(0.4)  # the host has asked the issuer and is waiting on it
        assert not in_flight.done()
        signalled = host.terminate()
        await asyncio.sleep(0.2)
        assert not in_flight.done(), "the sale must still be in flight for this test"
        assert await refused(host), "a new connection was served after shutdown started"
        try:
            outcome: Exchange | None = await in_flight
        except LinkError:
            outcome = None
        code = await host.exited(grace + EXIT_SLACK)
        assert code == 0, host.log.read_text()
        assert time.monotonic() - signalled <= grace + EXIT_SLACK
        await link.close()
    finally:
        host.kill()
    return sale, outcome


async def test_sigterm_lets_an_in_flight_sale_finish_and_books_it_once(
    db_url: str, tmp_path: Path
) -> None:
    sale, outcome = await sigterm_during_sale(db_url, tmp_path, latency_ms=1500, grace=5.0)
    assert outcome is not None and outcome.code == "00", "within the grace: answered"
    key_file = tmp_path / "host.key"
    assert await booked(db_url, key_file, sale["11"]) == 1
    # after a restart the same sale is a repeat: the stored approval, and still one entry
    host = HostProcess(db_url, key_file, tmp_path, 0, 5.0)
    await host.start()
    try:
        link = host.link()
        assert (await link.sign_on()).code == "00"
        again = await link.send(sale)
        assert (again.code, again.reply["37"], again.reply["38"]) == (
            "00",
            outcome.reply["37"],
            outcome.reply["38"],
        )
        await link.close()
        host.terminate()
        assert await host.exited(5.0 + EXIT_SLACK) == 0
    finally:
        host.kill()
    assert await booked(db_url, key_file, sale["11"]) == 1


async def test_sigterm_past_the_grace_drops_the_sale_unanswered_and_unbooked(
    db_url: str, tmp_path: Path
) -> None:
    sale, outcome = await sigterm_during_sale(db_url, tmp_path, latency_ms=3000, grace=0.5)
    assert outcome is None, "past the grace the sale is cut off without a reply"
    assert await booked(db_url, tmp_path / "host.key", sale["11"]) == 0

"""``kill -9`` the host under load, restart it: nothing it acknowledged is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from possettle.crypto.keys import Key
from possettle.iso8583.codec import Fields
from possettle.iso8583.fields import HalfTotals, SettlementTotals
from possettle.link import requests as m
from possettle.link.client import Link, LinkError
from tests.host.harness import KEYS, MID, PAN, register

TIDS = [f"CRASH00{i}" for i in range(4)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_host(url: str, key_file: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(  # noqa: ASYNC220 - a daemon we kill, not awaited I/O
        [
            sys.executable,
            "-c",
            "from possettle.cli.main import app; app()",
            "host",
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--key-file",
            str(key_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return proc
        except OSError:
            await asyncio.sleep(0.05)
    proc.kill()
    raise AssertionError("host did not start")


async def hammer(link: Link, acked: dict[int, Fields], doubt: list[Fields]) -> None:
    """Send sales until the host dies; remember what was acknowledged and what is in doubt."""
    while True:
        req = m.sale(
            link.tid,
            MID,
            link.next_stan(),
            link.batch,
            pan=PAN,
            amount=100 + link.stan,
            expiry="3012",
        )
        try:
            ex = await link.send(req)
        except LinkError:
            doubt.append(req)
            return
        assert ex.code == "00"
        acked[link.stan] = ex.reply


async def test_nothing_acknowledged_is_lost_across_kill_9(db_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file, {tid: KEYS["tmk"] for tid in TIDS})
    port = free_port()
    tmk = Key.from_hex(KEYS["tmk"])
    host = await start_host(db_url, key_file, port)
    links = [Link("127.0.0.1", port, tid, MID, tmk, timeout=3.0) for tid in TIDS]
    acked: list[dict[int, Fields]] = [{} for _ in TIDS]
    doubt: list[list[Fields]] = [[] for _ in TIDS]
    try:
        for link in links:
            assert (await link.sign_on()).code == "00"
        tasks = [
            asyncio.create_task(hammer(lk, a, d))
            for lk, a, d in zip(links, acked, doubt, strict=True)
        ]
        await asyncio.sleep(0.8)
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        await asyncio.gather(*tasks)
    finally:
        if host.poll() is None:
            host.kill()
    assert sum(len(a) for a in acked) > 20

    host = await start_host(db_url, key_file, port)
    try:
        for link, done, unsure in zip(links, acked, doubt, strict=True):
            await link.close()
            assert (await link.sign_on()).code == "00"
            # every acknowledged sale is remembered: a repeat gets the very same approval
            for stan, reply in done.items():
                again = await link.send(
                    m.sale(link.tid, MID, stan, 1, pan=PAN, amount=100 + stan, expiry="3012")
                )
                assert (again.code, again.reply["37"], again.reply["38"]) == (
                    "00",
                    reply["37"],
                    reply["38"],
                )
            # the sale in doubt is reversed (00 if it had landed, 25 if not)
            for req in unsure:
                assert (await link.send(m.reversal(req, "98"))).code in ("00", "25")
            total = sum(int(r["4"]) for r in done.values())
            claimed = SettlementTotals(HalfTotals(total, len(done)), HalfTotals())
            ex = await link.send(m.settlement(link.tid, MID, link.next_stan(), 1, claimed))
            assert SettlementTotals.parse(ex.reply["48"]).balanced, ex.reply["48"]
            await link.close()
    finally:
        host.send_signal(signal.SIGTERM)
        try:
            host.wait(10)
        except subprocess.TimeoutExpired:
            host.kill()

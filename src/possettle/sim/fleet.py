"""A fleet on one machine: a host process, and terminals each behind its own adversity proxy.

The proxies are how network faults reach one terminal (or one region) and not the others;
the host process is how the host can be killed for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from possettle.clock import SystemClock
from possettle.crypto.keys import Key, generate_key
from possettle.host import registry
from possettle.iso8583.fields import NetworkCode
from possettle.ledger.database import Database
from possettle.ledger.engine import create_engine_for
from possettle.ledger.queries import set_policy
from possettle.link import requests
from possettle.link.client import Link, LinkError
from possettle.sim.host_process import HostProcess, free_port
from possettle.sim.proxy import AdversityProxy, Faults
from possettle.terminal.config import TerminalConfig
from possettle.terminal.pos import Pos
from possettle.terminal.setup import init_terminal

MID = "898100012340001"
VERSION = "010200"
MIN_VERSION = "010100"
OLD_VERSION = "010000"
POLICY = {"settlement_window": "always"}


@dataclass
class Member:
    index: int
    tid: str
    region: str
    directory: Path
    proxy: AdversityProxy
    pos: Pos | None = None
    injected: str | None = None
    events: list[str] = field(default_factory=list)


class Fleet:
    def __init__(self, work: Path, size: int, regions: int, seed: int) -> None:
        self.work = work
        self.url = f"sqlite:///{work / 'host.db'}"
        self.key_file = work / "host.key"
        self.port = free_port()
        self.host = HostProcess(self.url, self.key_file, self.port, work / "host.log")
        self.size, self.regions, self.seed = size, regions, seed
        self.members: list[Member] = []
        self.engine: sa.Engine | None = None

    async def start(self) -> None:
        tmks = [generate_key(16) for _ in range(self.size)]
        tids = [f"CH{i:06d}" for i in range(self.size)]
        regions = [f"region-{i % self.regions}" for i in range(self.size)]
        db = Database.open(self.url, key_file=self.key_file)
        await db.start()
        try:

            def op(conn: sa.Connection) -> None:
                registry.add_merchant(conn, MID, "possettle chaos shop")
                set_policy(conn, "min_version", MIN_VERSION)
                for tid, tmk, region in zip(tids, tmks, regions, strict=True):
                    registry.add_terminal(conn, db.vault, tid, MID, tmk, region=region)

            await db.write(op)
        finally:
            await db.close()
        await self.host.start()
        self.engine = create_engine_for(self.url)
        for i, (tid, tmk, region) in enumerate(zip(tids, tmks, regions, strict=True)):
            proxy = AdversityProxy(
                "127.0.0.1", 0, "127.0.0.1", self.port, Faults(),
                random.Random(f"{self.seed}:proxy:{tid}"),
            )  # fmt: skip
            await proxy.start()
            directory = self.work / "terminals" / tid
            cfg = TerminalConfig(
                tid=tid, mid=MID, port=proxy.port, version=VERSION, region=region, timeout=8.0,
                merchant_name="possettle chaos shop", policy=POLICY,
            )  # fmt: skip
            init_terminal(directory, cfg, Key(tmk.material))
            self.members.append(Member(i, tid, region, directory, proxy))

    def open(self, m: Member) -> Pos:
        if m.pos is None:
            m.pos = Pos.open(m.directory, clock=SystemClock())
        return m.pos

    async def close_terminal(self, m: Member) -> None:
        if m.pos is not None:
            await m.pos.close()
            m.pos = None

    async def stop(self) -> None:
        for m in self.members:
            await self.close_terminal(m)
            await m.proxy.close()
        if self.engine is not None:
            self.engine.dispose()
        await self.host.stop()

    def set_status(self, tid: str, status: str) -> None:
        assert self.engine is not None
        with self.engine.begin() as conn:
            registry.set_terminal_status(conn, tid, status)


class Heartbeat:
    """Each terminal's idle-time echo (心跳) through its own proxy, as a real POS sends one.

    It keeps the host's "last seen" meaningful: a terminal that is merely idle, or refusing
    work locally, still shows up; one that is cut off does not.
    """

    def __init__(self, fleet: Fleet, interval: float = 0.5) -> None:
        self.fleet, self.interval = fleet, interval
        self._task: asyncio.Task[None] | None = None
        self._links: dict[str, Link] = {}
        self._stan = 980000

    async def _beat(self, m: Member) -> None:
        cfg = TerminalConfig.load(m.directory)
        link = self._links.get(m.tid)
        if link is None:
            link = Link("127.0.0.1", m.proxy.port, m.tid, MID, Key(bytes(16)), timeout=1.0)
            self._links[m.tid] = link
        self._stan = self._stan % 999999 + 1
        with contextlib.suppress(LinkError):
            await link.send(m_echo(cfg.tid, cfg.mid, self._stan))

    async def _run(self) -> None:
        while True:
            await asyncio.gather(*(self._beat(m) for m in self.fleet.members))
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for link in self._links.values():
            await link.close()


def m_echo(tid: str, mid: str, stan: int) -> dict[str, str]:
    return requests.management(tid, mid, stan, 1, NetworkCode.ECHO)

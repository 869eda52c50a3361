"""A fleet on one machine: a host process, and terminals each behind its own adversity proxy.

The proxies are how network faults reach one terminal (or one region) and not the others;
the host process is how the host can be killed for real. While a member's terminal is open it
keeps the host informed itself, as a real POS does (:mod:`possettle.terminal.informer`: idle
echoes and status reports through its own proxy, on the short schedule of the fleet's
``terminal.json``), so the host's "last seen" tells a terminal that is merely idle, or refusing
work locally, from one that is cut off.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from possettle.clock import SystemClock
from possettle.crypto.keys import Key, generate_key
from possettle.host import registry
from possettle.ledger.database import Database
from possettle.ledger.engine import create_engine_for
from possettle.ledger.queries import set_policy
from possettle.sim.host_process import HostProcess, free_port
from possettle.sim.proxy import AdversityProxy, Faults
from possettle.terminal.config import TerminalConfig
from possettle.terminal.informer import Informer
from possettle.terminal.pos import Pos
from possettle.terminal.setup import init_terminal

MID = "898100012340001"
VERSION = "010200"
MIN_VERSION = "010100"
OLD_VERSION = "010000"
POLICY = {"settlement_window": "always"}
# The fleet's day is minutes long, so its terminals keep the host informed on a short schedule
# (the product's defaults are 60 s and 15 min): an echo after half a second idle, a report
# every 5 s. A cut-off terminal is dark to the host within the chaos run's window of seconds.
ECHO_IDLE_S = 0.5
STATUS_REPORT_S = 5.0


@dataclass
class Member:
    index: int
    tid: str
    region: str
    directory: Path
    proxy: AdversityProxy
    pos: Pos | None = None
    informer: Informer | None = None  # while ``pos`` is open
    faults: tuple[str, ...] = ()  # the causes injected at settlement (sim/faults.py)
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
                merchant_name="possettle chaos shop", policy=POLICY, echo_idle_s=ECHO_IDLE_S,
                status_report_s=STATUS_REPORT_S,
            )  # fmt: skip
            init_terminal(directory, cfg, Key(tmk.material))
            self.members.append(Member(i, tid, region, directory, proxy))

    def open(self, m: Member) -> Pos:
        """The member's terminal, opened if it is not; from then on it keeps the host informed."""
        if m.pos is None:
            m.pos = Pos.open(m.directory, clock=SystemClock())
            m.informer = Informer(m.pos.terminal)
            m.informer.start()
        return m.pos

    async def close_terminal(self, m: Member) -> None:
        informer, m.informer = m.informer, None
        try:
            if informer is not None:
                await informer.stop()
        finally:
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

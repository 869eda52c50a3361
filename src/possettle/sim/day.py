"""A business day of a real fleet: terminal cores against a real host process, with faults.

The host runs in its own process (SQLite, built-in issuer simulator); each terminal is a
directory with its own journal, driven through :class:`possettle.terminal.pos.Pos` over real
sockets. The day runs in phases so the faults land where they hurt:

1. trading: sales, voids and refunds; one terminal's connection drops mid-sale (reversed);
2. the host is killed (SIGKILL): terminals approve offline sales (store-and-forward);
3. the host restarts: reversals and offline advices go first, trading goes on;
4. settlement: one terminal loses power mid-settlement (a real process killed at a crash
   point) and resumes; one printer is out of paper (slip queued, printed later); the host
   has lost one entry of one batch (restored from an older backup), so that batch is
   settled after a batch upload.

While open, each terminal keeps the host informed itself (idle echoes and status reports, on
the fleet's short schedule: :mod:`possettle.terminal.informer`). At the end every terminal
journal is compared with the host ledger (:mod:`.compare`).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possettle.crypto.keys import Key, generate_key
from possettle.host import registry
from possettle.ledger.database import Database
from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import ledger_entries
from possettle.sim.compare import compare
from possettle.sim.fleet import ECHO_IDLE_S, STATUS_REPORT_S
from possettle.sim.host_process import HostProcess, free_port
from possettle.terminal.config import TerminalConfig
from possettle.terminal.crashpoints import ENV as CRASH_ENV
from possettle.terminal.crashpoints import CrashPoints
from possettle.terminal.errors import TerminalError
from possettle.terminal.informer import Informer
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.records import TxnKind, TxnState
from possettle.terminal.pos import Pos
from possettle.terminal.printer.simulated import PrinterState, set_state
from possettle.terminal.setup import init_terminal

MID = "898100012340001"
CUP_PANS = ["6222021234567890128", "6212345678901234569", "6217000010000000003"]
FOREIGN_PANS = ["4111111111111111", "5500000000000004"]
DEMO_POLICY = {"settlement_window": "always"}

Tick = Callable[[str, int], None]
Phase = Callable[[str], None]


@dataclass
class TerminalDay:
    index: int
    tid: str
    directory: Path
    events: list[str] = field(default_factory=list)
    declined: int = 0
    result: str = "not settled"
    batch: int = 0
    uploaded: int = 0
    recovered: bool = False
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tid": self.tid, "batch": self.batch, "result": self.result,
            "recovered": self.recovered, "uploaded": self.uploaded, "declined": self.declined,
            **self.figures, "events": self.events,
        }  # fmt: skip


@dataclass
class DayResult:
    terminals: list[TerminalDay]
    transactions: int
    lost: int
    duplicated: int
    recon_exceptions: int
    host_restarts: int
    seconds: float
    workdir: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "terminals": len(self.terminals),
            "transactions": self.transactions,
            "settlements": [t.as_dict() for t in self.terminals],
            "lost": self.lost,
            "duplicated": self.duplicated,
            "recon_exceptions": self.recon_exceptions,
            "host_restarts": self.host_restarts,
            "seconds": round(self.seconds, 2),
            "workdir": self.workdir,
        }


class _Cut:
    """A crash point that cuts the terminal's connection instead of killing the process."""

    def __init__(self) -> None:
        self.pos: Pos | None = None

    def __call__(self) -> None:
        if self.pos is not None and self.pos.terminal._link is not None:
            self.pos.terminal._link.abort()


async def _register(url: str, key_file: Path, days: list[TerminalDay], tmks: list[bytes]) -> None:

    db = Database.open(url, key_file=key_file)
    await db.start()
    try:

        def op(conn: sa.Connection) -> None:
            registry.add_merchant(conn, MID, "possettle demo shop")
            for d, tmk in zip(days, tmks, strict=True):
                registry.add_terminal(conn, db.vault, d.tid, MID, Key(tmk), region="demo")

        await db.write(op)
    finally:
        await db.close()


class Day:
    def __init__(
        self, terminals: int, per_terminal: int, seed: int, work: Path,
        tick: Tick | None = None, phase: Phase | None = None,
    ) -> None:  # fmt: skip
        self.n, self.per, self.seed, self.work = terminals, per_terminal, seed, work
        self.tick: Tick = tick or (lambda _tid, _n: None)
        self.phase: Phase = phase or (lambda _msg: None)
        self.url = f"sqlite:///{work / 'host.db'}"
        self.key_file = work / "host.key"
        self.port = free_port()
        self.host = HostProcess(self.url, self.key_file, self.port, work / "host.log")
        self.days = [
            TerminalDay(i, f"DEMO{i:04d}", work / "terminals" / f"DEMO{i:04d}")
            for i in range(terminals)
        ]
        self.pos: dict[str, Pos] = {}
        self.informers: dict[str, Informer] = {}
        self.cuts: dict[str, _Cut] = {}

    # role of each terminal in the day's faults (a small fleet doubles up)
    def _role(self, day: TerminalDay, which: int) -> bool:
        return day.index == which % self.n

    async def setup(self) -> None:
        tmks = [generate_key(16) for _ in self.days]
        await _register(self.url, self.key_file, self.days, [k.material for k in tmks])
        for d, tmk in zip(self.days, tmks, strict=True):
            cfg = TerminalConfig(
                tid=d.tid, mid=MID, port=self.port, version="010200", region="demo",
                merchant_name="possettle demo shop", timeout=5.0, policy=DEMO_POLICY,
                echo_idle_s=ECHO_IDLE_S, status_report_s=STATUS_REPORT_S,
            )  # fmt: skip
            init_terminal(d.directory, cfg, tmk)
        await self.host.start()
        for d in self.days:
            self._open(d)

    def _open(self, d: TerminalDay) -> Pos:
        cut = _Cut()
        target = ("send.sale.after", 3) if self._role(d, 0) else None
        pos = Pos.open(d.directory, crash=CrashPoints(target, die=cut))
        cut.pos = pos
        self.pos[d.tid], self.cuts[d.tid] = pos, cut
        # while open, the terminal keeps the host informed itself (idle echoes, status reports)
        self.informers[d.tid] = Informer(pos.terminal)
        self.informers[d.tid].start()
        return pos

    async def _close(self, d: TerminalDay) -> None:
        pos = self.pos.pop(d.tid)
        try:
            await self.informers.pop(d.tid).stop()
        finally:
            await pos.close()

    # --------------------------------------------------------------------- trading

    async def _one(self, d: TerminalDay, rng: random.Random) -> None:
        pos = self.pos[d.tid]
        roll = rng.random()
        try:
            voidable = pos.voidable()
            if roll < 0.08 and voidable:
                r = await pos.void(rng.choice(voidable))
            elif roll < 0.16 and voidable:
                stan = rng.choice(voidable)
                orig = q.find_txn(pos.journal.conn, pos.terminal.batch, stan)
                assert orig is not None
                r = await pos.refund(
                    max(1, orig.amount // 2), orig_batch=orig.batch, orig_stan=stan
                )
            else:
                domestic = rng.random() < 0.8
                pan = rng.choice(CUP_PANS if domestic else FOREIGN_PANS)
                pin = "123456" if rng.random() < 0.93 else "654321"  # a few wrong PINs: 55
                r = await pos.sale(pan, rng.randint(100, 80_000), expiry="3012", pin=pin)
            if not r.approved and r.state is not TxnState.PENDING:
                d.declined += 1
            if r.state is TxnState.PENDING and r.kind is TxnKind.SALE:
                d.events.append(f"connection dropped mid-sale {r.stan:06d} -> reversed")
            if r.offline:
                d.events.append(f"host down: sale {r.stan:06d} approved offline")
        except TerminalError as exc:
            d.events.append(f"{type(exc).__name__}: {exc}")
        self.tick(d.tid, 1)

    async def _trade(self, d: TerminalDay, count: int, rng: random.Random) -> None:
        for _ in range(count):
            await self._one(d, rng)

    async def run(self) -> None:
        rngs = {d.tid: random.Random(f"{self.seed}:{d.tid}") for d in self.days}
        first = max(1, self.per * 2 // 5)
        offline = min(2, max(0, self.per - first))
        rest = max(0, self.per - first - offline)
        self.phase("trading")
        await self._all(lambda d: self._trade(d, first, rngs[d.tid]))
        self.phase("host killed (SIGKILL): terminals store and forward")
        await self.host.kill()
        await self._all(lambda d: self._trade(d, offline, rngs[d.tid]))
        self.phase("host restarted: reversals and advices first")
        await self.host.start()
        await self._all(lambda d: self._trade(d, rest, rngs[d.tid]))
        for d in self.days:
            pending = q.pending_reversals(self.pos[d.tid].journal.conn)
            if pending:
                await self.pos[d.tid].resume()
        self.phase("settlement")
        await self._all(self._settle)

    async def _all(self, work: Callable[[TerminalDay], Any]) -> None:
        async with asyncio.TaskGroup() as tg:
            for d in self.days:
                tg.create_task(work(d))

    # ------------------------------------------------------------------ settlement

    async def _settle(self, d: TerminalDay) -> None:
        pos = self.pos[d.tid]
        await pos.resume()  # reversals and advices before anything is counted
        d.batch = pos.terminal.batch
        if self._role(d, 3):
            self._forget_one(d)
        if self._role(d, 2):
            set_state(d.directory, PrinterState.PAPER_OUT)
            d.events.append("printer out of paper -> slip queued")
        if self._role(d, 1):
            await self._close(d)
            code = await self._settle_in_process_that_dies(d)
            d.events.append(f"power cut mid-settlement (exit {code}) -> resumed")
            d.recovered = True
            pos = self._open(d)
        report = await pos.settle()
        d.uploaded = report.uploaded
        if report.ok:
            label = report.result.replace("_", " ")
            d.result = f"failed then recovered ({label})" if d.recovered else label
        else:
            d.result = f"failed at {report.step.value}"
        if self._role(d, 2):
            set_state(d.directory, PrinterState.OK)
            left = pos.reprint()
            d.events.append("paper loaded -> slip printed" if left == 0 else "slip still queued")
        d.figures = _figures(pos, d.batch)

    def _forget_one(self, d: TerminalDay) -> None:
        """The host's ledger lost one of this batch's sales (restored from an older backup)."""
        pos = self.pos[d.tid]
        rows = q.batch_txns(pos.journal.conn, d.batch)
        refunded = {t.orig_stan for t in rows if t.kind is TxnKind.REFUND}
        sales = [
            t for t in rows
            if t.kind is TxnKind.SALE and t.state is TxnState.APPROVED and not t.voided
            and t.stan not in refunded  # nothing at the host points at it
        ]  # fmt: skip
        if not sales:
            return
        victim = sales[len(sales) // 2]
        engine = create_engine_for(self.url)
        try:
            with engine.begin() as conn:
                refs = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(ledger_entries)
                    .where(
                        ledger_entries.c.tid == d.tid,
                        ledger_entries.c.batch == d.batch,
                        ledger_entries.c.stan == f"{victim.stan:06d}",
                    )
                ).scalar_one()
                conn.execute(
                    sa.delete(ledger_entries).where(
                        ledger_entries.c.tid == d.tid,
                        ledger_entries.c.batch == d.batch,
                        ledger_entries.c.stan == f"{victim.stan:06d}",
                    )
                )
        finally:
            engine.dispose()
        if refs:
            d.events.append(f"host lost sale {victim.stan:06d} (old backup) -> batch upload")

    async def _settle_in_process_that_dies(self, d: TerminalDay) -> int:
        env = {**os.environ, CRASH_ENV: "send.settlement.after"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "possettle.cli.main", "terminal", "settle", "--dir",
            str(d.directory), "--json", env=env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        return await proc.wait()

    async def close(self) -> None:
        try:
            for d in self.days:
                if d.tid in self.pos:
                    await self._close(d)
        finally:
            await self.host.stop()


def _figures(pos: Pos, batch: int) -> dict[str, Any]:
    rows = q.batch_txns(pos.journal.conn, batch)
    counted = [t for t in rows if t.counts_in_totals]
    return {
        "sales": sum(1 for t in rows if t.kind is TxnKind.SALE and t.state is TxnState.APPROVED),
        "voids": sum(1 for t in rows if t.kind is TxnKind.VOID and t.state is TxnState.APPROVED),
        "refunds": sum(
            1 for t in rows if t.kind is TxnKind.REFUND and t.state is TxnState.APPROVED
        ),
        "offline": sum(1 for t in rows if t.kind is TxnKind.OFFLINE_SALE),
        "reversed": sum(1 for t in rows if t.state is TxnState.REVERSED),
        "debit_amount": sum(t.amount for t in counted if t.kind is not TxnKind.REFUND),
        "credit_amount": sum(t.amount for t in counted if t.kind is TxnKind.REFUND),
    }


async def run_day(
    terminals: int = 8, per_terminal: int = 25, seed: int = 7, workdir: Path | None = None,
    tick: Tick | None = None, phase: Phase | None = None,
) -> DayResult:  # fmt: skip
    start = time.monotonic()
    work = workdir or Path(tempfile.mkdtemp(prefix="possettle-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    day = Day(terminals, per_terminal, seed, work, tick, phase)
    try:
        await day.setup()
        await day.run()
    finally:
        await day.close()
    engine = create_engine_for(day.url)
    try:
        view = compare(engine, [d.directory for d in day.days])
    finally:
        engine.dispose()
    txns = 0
    for d in day.days:
        txns += d.figures.get("sales", 0) + d.figures.get("voids", 0)
        txns += d.figures.get("refunds", 0) + d.figures.get("offline", 0)
    return DayResult(
        day.days, txns, len(view.lost), len(view.duplicated), view.exceptions,
        day.host.starts - 1, time.monotonic() - start, str(work),
    )  # fmt: skip

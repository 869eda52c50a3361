"""The chaos suite: a fleet's business day with faults of every kind, then the money checked.

From one seed: terminals trade (sales, voids, refunds) while connections are cut mid-sale and
the host is killed and restarted (offline sales meanwhile); at settlement most terminals get
one fault from :mod:`.faults` (one region loses the host altogether). Every settlement that
fails or needs attention is diagnosed by the doctor, the fault is removed, and the terminal
recovers. Then:

* nothing lost, nothing doubled (every journal against the host ledger);
* every reversal applied once;
* money conserved: per batch, host totals (plus what it recorded as missing) equal the
  terminal's, and the ledger's deltas equal approvals − voids − reversals, refunds apart;
* every batch closed, on both sides;
* the doctor's top diagnosis is the injected cause — accuracy per cause.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possettle.doctor.run import Options, diagnose
from possettle.ledger.queries import batch_sums
from possettle.ledger.schema import batches, ledger_entries, recon_exceptions
from possettle.sim.compare import compare
from possettle.sim.faults import SPECS, Attempt, settle_in_process
from possettle.sim.fleet import Fleet, Member
from possettle.sim.proxy import Direction, Faults
from possettle.terminal.errors import TerminalError
from possettle.terminal.journal import queries as q
from possettle.terminal.operations.settlement import totals

CUP = ["6222021234567890128", "6212345678901234569", "6217000010000000003"]
FOREIGN = ["4111111111111111", "5500000000000004"]
DARK_AFTER = timedelta(seconds=3)
DIAGNOSES_AT_ONCE = 16
SETTLING_AT_ONCE = 24

Tick = Callable[[int], None]


@dataclass
class ChaosResult:
    seed: int
    terminals: int
    transactions: int = 0
    lost: int = 0
    duplicated: int = 0
    reversal_repeats: int = 0
    unconserved: list[str] = field(default_factory=list)
    open_batches: list[str] = field(default_factory=list)
    unrecovered: list[str] = field(default_factory=list)
    diagnoses: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def accuracy(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for d in self.diagnoses:
            row = out.setdefault(d["injected"], {"right": 0, "total": 0})
            row["total"] += 1
            row["right"] += int(d["top"] == d["injected"])
        return dict(sorted(out.items()))

    @property
    def money_ok(self) -> bool:
        return not (self.lost or self.duplicated or self.reversal_repeats or self.unconserved
                    or self.open_batches or self.unrecovered)  # fmt: skip

    @property
    def all_diagnosed(self) -> bool:
        """Every injected cause named on top (failures nobody injected are counted apart)."""
        return all(d["top"] == d["injected"] for d in self.diagnoses if d["injected"] != "none")

    @property
    def unexpected_failures(self) -> list[dict[str, Any]]:
        """Settlements that failed with no fault injected (e.g. a host slowed by the load)."""
        return [d for d in self.diagnoses if d["injected"] == "none"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "terminals": self.terminals, "transactions": self.transactions,
            "lost": self.lost, "duplicated": self.duplicated,
            "reversal_repeats": self.reversal_repeats, "unconserved": self.unconserved,
            "open_batches": self.open_batches, "unrecovered": self.unrecovered,
            "diagnoses": self.diagnoses, "accuracy": self.accuracy,
            "money_ok": self.money_ok, "all_diagnosed": self.all_diagnosed,
            "unexpected_failures": len(self.unexpected_failures),
            "seconds": round(self.seconds, 1),
        }  # fmt: skip


class Chaos:
    def __init__(self, fleet: Fleet, per_terminal: int, seed: int, tick: Tick | None) -> None:
        self.fleet, self.per, self.seed = fleet, per_terminal, seed
        self.rng = random.Random(seed)
        self.tick: Tick = tick or (lambda _n: None)
        self.result = ChaosResult(seed, fleet.size)

    # ------------------------------------------------------------------------ the day

    async def _one(self, m: Member, rng: random.Random, cut: bool) -> None:
        pos = self.fleet.open(m)
        try:
            voidable = pos.voidable()
            roll = rng.random()
            if roll < 0.07 and voidable:
                await pos.void(rng.choice(voidable))
            elif roll < 0.14 and voidable:
                stan = rng.choice(voidable)
                orig = q.find_txn(pos.journal.conn, pos.terminal.batch, stan)
                assert orig is not None
                await pos.refund(max(1, orig.amount // 3), orig_batch=orig.batch, orig_stan=stan)
            else:
                pan = rng.choice(CUP if rng.random() < 0.8 else FOREIGN)
                if cut:  # the reply is lost on its way back: the sale must be reversed
                    m.proxy.faults = Faults(reset=1.0, direction=Direction.DOWN)
                await pos.sale(pan, rng.randint(100, 90_000), expiry="3012", pin="123456")
        except TerminalError as exc:
            m.events.append(f"{type(exc).__name__}: {exc}")
        finally:
            if cut:
                m.proxy.faults = Faults()
        self.tick(1)

    async def _trade(self, m: Member, count: int, rng: random.Random, cut_at: int | None) -> None:
        for i in range(count):
            await self._one(m, rng, cut=i == cut_at)

    async def day(self) -> None:
        first = max(1, self.per * 2 // 5)
        down = min(2, self.per - first)
        rest = self.per - first - down
        rngs = {m.tid: random.Random(f"{self.seed}:{m.tid}") for m in self.fleet.members}
        cuts = {m.tid: (rngs[m.tid].randrange(first) if rngs[m.tid].random() < 0.15 else None)
                for m in self.fleet.members}  # fmt: skip
        await self._all(lambda m: self._trade(m, first, rngs[m.tid], cuts[m.tid]))
        await self.fleet.host.kill()
        await self._all(lambda m: self._trade(m, down, rngs[m.tid], None))
        await self.fleet.host.start()
        await self._all(lambda m: self._trade(m, rest, rngs[m.tid], None))

    async def _all(self, work: Callable[[Member], Any]) -> None:
        async with asyncio.TaskGroup() as tg:
            for m in self.fleet.members:
                tg.create_task(work(m))

    # ------------------------------------------------------------------ settlement

    def _assign(self) -> None:
        members = self.fleet.members
        regions = sorted({m.region for m in members})
        dark = self.rng.choice(regions) if len(members) >= 3 * len(regions) else None
        causes = sorted(c for c in SPECS if c != "region.outage")
        self.rng.shuffle(causes)  # every cause at least once when the fleet is big enough
        for m in members:
            if m.region == dark:
                m.injected = "region.outage"
            elif causes:
                m.injected = causes.pop()
            elif self.rng.random() < 0.6:
                m.injected = self.rng.choice(sorted(c for c in SPECS if c != "region.outage"))

    async def settle(self) -> None:
        self._assign()
        for m in self.fleet.members:
            if m.injected:
                await SPECS[m.injected].inject(self.fleet, m, self.rng)
        # Every terminal open again once the faults are in, keeping the host informed itself:
        # a cut-off terminal's echoes cannot connect, the others' keep "last seen" fresh.
        for m in self.fleet.members:
            self.fleet.open(m)
        await self._settle()

    async def _settle(self) -> None:
        await asyncio.sleep(DARK_AFTER.total_seconds() * 1.5)  # the dark region goes quiet
        attempts: dict[str, Attempt] = {}

        at_once = asyncio.Semaphore(SETTLING_AT_ONCE)

        async def attempt(m: Member) -> None:
            spec = SPECS.get(m.injected or "")
            async with at_once:  # shops do not all press "settle" in the same second
                attempts[m.tid] = await (spec.attempt(self.fleet, m, self.rng) if spec
                                         else settle_in_process(self.fleet, m))  # fmt: skip

        await self._all(attempt)
        gate = asyncio.Semaphore(DIAGNOSES_AT_ONCE)

        async def diagnose_failed(m: Member) -> None:
            if attempts[m.tid].failed:
                async with gate:
                    await self._diagnose(m, attempts[m.tid])

        await self._all(diagnose_failed)
        for m in self.fleet.members:
            if m.injected:
                await SPECS[m.injected].remove(self.fleet, m, self.rng)
        await self._all(self._recover)

    async def _diagnose(self, m: Member, attempt: Attempt) -> None:
        await self.fleet.close_terminal(m)
        opts = Options(host_engine=self.fleet.engine, send_report=False, dark_after=DARK_AFTER)
        report = await diagnose(m.directory, opts)
        top = report.diagnoses[0].cause.id if report.diagnoses else "none"
        self.result.diagnoses.append({
            "tid": m.tid, "injected": m.injected or "none", "top": top,
            "score": round(report.diagnoses[0].score, 3) if report.diagnoses else 0.0,
            "attempt": attempt.detail,
        })  # fmt: skip

    async def _recover(self, m: Member) -> None:
        spec = SPECS.get(m.injected or "")
        for _ in range(3):
            await self.fleet.close_terminal(m)
            done = await settle_in_process(self.fleet, m, spec.operator if spec else None)
            pos = self.fleet.open(m)
            if q.unfinished_settlement(pos.journal.conn) is None and q.last_settlement(
                pos.journal.conn
            ):
                if pos.printing.pending():
                    pos.reprint()
                return
            m.events.append(f"recovery attempt: {done.detail}")
        self.result.unrecovered.append(m.tid)

    # ---------------------------------------------------------------------- checks

    def check(self) -> None:
        fleet, r = self.fleet, self.result
        assert fleet.engine is not None
        view = compare(fleet.engine, [m.directory for m in fleet.members])
        r.lost, r.duplicated = len(view.lost), len(view.duplicated)
        r.transactions = view.terminal_approved
        le = ledger_entries.c
        with fleet.engine.connect() as conn:
            repeats = conn.execute(
                sa.select(le.orig_entry_id, sa.func.count())
                .where(le.kind == "reversal")
                .group_by(le.orig_entry_id)
                .having(sa.func.count() > 1)
            ).all()
            r.reversal_repeats = len(repeats)
            for m in fleet.members:
                pos = fleet.open(m)
                last = q.last_settlement(pos.journal.conn)
                if last is None:
                    r.open_batches.append(f"{m.tid}: never settled")
                    continue
                status = conn.execute(
                    sa.select(batches.c.status).where(
                        batches.c.tid == m.tid, batches.c.batch == last.batch
                    )
                ).scalar_one_or_none()
                if status != "closed" or last.step.value != "done":
                    r.open_batches.append(
                        f"{m.tid}/{last.batch}: host {status}, terminal {last.step}"
                    )
                self._conserved(conn, m, last.batch)

    def _conserved(self, conn: sa.Connection, m: Member, batch: int) -> None:
        pos = self.fleet.open(m)
        mine = totals(q.batch_txns(pos.journal.conn, batch))
        host = batch_sums(conn, m.tid, batch)
        missing = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(recon_exceptions.c.amount), 0)).where(
                recon_exceptions.c.tid == m.tid, recon_exceptions.c.batch == batch,
                recon_exceptions.c.category == "missing_at_host",
            )
        ).scalar_one()  # fmt: skip
        host_debit = host.domestic.debit_amount + host.foreign.debit_amount
        host_credit = host.domestic.credit_amount + host.foreign.credit_amount
        my_debit = mine.domestic.debit_amount + mine.foreign.debit_amount
        my_credit = mine.domestic.credit_amount + mine.foreign.credit_amount
        if host_debit + int(missing) != my_debit or host_credit != my_credit:
            self.result.unconserved.append(
                f"{m.tid}/{batch}: host debit {host_debit} (+{missing} missing) credit "
                f"{host_credit}; terminal debit {my_debit} credit {my_credit}"
            )


async def run_chaos(
    terminals: int = 20, per_terminal: int = 50, seed: int = 1, workdir: Path | None = None,
    regions: int = 4, tick: Tick | None = None,
) -> ChaosResult:  # fmt: skip
    start = time.monotonic()
    work = workdir or Path(tempfile.mkdtemp(prefix="possettle-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    fleet = Fleet(work, terminals, regions, seed)
    chaos = Chaos(fleet, per_terminal, seed, tick)
    try:
        await fleet.start()
        await chaos.day()
        await chaos.settle()
        chaos.check()
    finally:
        await fleet.stop()
    chaos.result.seconds = time.monotonic() - start
    return chaos.result

"""The chaos suite: a fleet's business day with faults of every kind, then the money checked.

From one seed (a :class:`~possettle.sim.scenarios.Scenario`): terminals trade (sales, voids,
refunds) while connections are cut mid-sale and the host is killed and restarted (offline
sales meanwhile); at settlement most terminals get a fault from :mod:`.faults`, some two that
may coexist (``faults.PAIRS``), and one region loses the host altogether. Every terminal then
settles, and every terminal — failed or not — is diagnosed by the doctor once per pass
(:class:`~possettle.sim.scoring.Pass`: full evidence, terminal-only, the product's dark window)
on the same state; the faults are removed, and the terminals recover. Then:

* nothing lost, nothing doubled (every journal against the host ledger);
* every reversal applied once;
* money conserved: per batch, host totals (plus what it recorded as missing) equal the
  terminal's, and the ledger's deltas equal approvals − voids − reversals, refunds apart;
* every batch closed, on both sides;
* the doctor wrote nothing: every terminal's journal and files are as they were before its
  passes;
* every injected fault scored, per pass: named, reported recovered, or missed
  (:mod:`.scoring`), with false alarms on the terminals that had none.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possettle.doctor.hostview import DARK_AFTER as PRODUCT_DARK_AFTER
from possettle.doctor.run import Options, diagnose
from possettle.ledger.queries import batch_sums
from possettle.ledger.schema import batches, ledger_entries, recon_exceptions
from possettle.sim.compare import compare
from possettle.sim.faults import (
    REGION_OUTAGE,
    SPECS,
    Attempt,
    attempt_for,
    operator_for,
    partners,
    settle_in_process,
)
from possettle.sim.fleet import Fleet, Member
from possettle.sim.proxy import Direction, Faults
from possettle.sim.scenarios import Scenario
from possettle.sim.scoring import Case, Figures, Pass, Seen, figures
from possettle.terminal.config import JOURNAL_FILE
from possettle.terminal.errors import TerminalError
from possettle.terminal.journal import queries as q
from possettle.terminal.operations.settlement import totals

CUP = ["6222021234567890128", "6212345678901234569", "6217000010000000003"]
FOREIGN = ["4111111111111111", "5500000000000004"]
#: How long a terminal may be silent before the full pass counts it dark: what a run of a
#: few minutes can wait for (the default-window pass uses the product's, 30 min).
SIM_DARK_AFTER = timedelta(seconds=3)
DIAGNOSES_AT_ONCE = 16
SETTLING_AT_ONCE = 24
#: Of the terminals outside the dark region that are not given one of each cause, the share
#: that get a fault at all.
FAULTY_SHARE = 0.6

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
    #: terminals whose journal or files changed while the doctor looked (it must not write)
    doctor_wrote: list[str] = field(default_factory=list)
    #: "TID cause" of every fault put in force, as the injectors reported it
    injected_log: list[str] = field(default_factory=list)
    #: faults an injector could not put in force (an out-of-balance batch with no sale)
    not_injected: list[str] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def figures(self) -> Figures:
        return figures(self.cases)

    @property
    def money_ok(self) -> bool:
        return not (self.lost or self.duplicated or self.reversal_repeats or self.unconserved
                    or self.open_batches or self.unrecovered)  # fmt: skip

    @property
    def injected(self) -> int:
        return sum(len(c.faults) for c in self.cases)

    def as_dict(self) -> dict[str, Any]:
        money = (
            "lost",
            "duplicated",
            "reversal_repeats",
            "unconserved",
            "open_batches",
            "unrecovered",
            "doctor_wrote",
            "not_injected",
        )
        return {
            "seed": self.seed,
            "terminals": self.terminals,
            "transactions": self.transactions,
            **{k: getattr(self, k) for k in money},
            "money_ok": self.money_ok,
            "figures": self.figures.as_dict(),
            "cases": [c.as_dict() for c in self.cases],
            "seconds": round(self.seconds, 1),
        }


def pass_options(p: Pass, engine: sa.Engine | None) -> Options:
    """What the doctor is given in each pass (never a status report: it would write)."""
    if p is Pass.TERMINAL_ONLY:
        return Options(host_engine=None, send_report=False)
    dark = SIM_DARK_AFTER if p is Pass.FULL else PRODUCT_DARK_AFTER
    return Options(host_engine=engine, send_report=False, dark_after=dark)


def fingerprint(directory: Path) -> str:
    """The terminal's state as the doctor could change it: the journal's rows (read-only) and
    every other file's bytes (SQLite's WAL and shared-memory files are its own business)."""
    h = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.name.startswith(JOURNAL_FILE) or not path.is_file():
            continue
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    conn = sqlite3.connect(f"file:{directory / JOURNAL_FILE}?mode=ro", uri=True)
    try:
        for line in conn.iterdump():
            h.update(line.encode())
    finally:
        conn.close()
    return h.hexdigest()


class Chaos:
    def __init__(
        self, fleet: Fleet, per_terminal: int, scenario: Scenario, tick: Tick | None
    ) -> None:
        self.fleet, self.per, self.scenario = fleet, per_terminal, scenario
        self.seed = scenario.seed
        self.rng = random.Random(scenario.seed)
        self.tick: Tick = tick or (lambda _n: None)
        self.result = ChaosResult(scenario.seed, fleet.size)

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
        singles = sorted(c for c in SPECS if c != REGION_OUTAGE)
        causes = list(singles)
        self.rng.shuffle(causes)  # every cause at least once when the fleet is big enough
        for m in members:
            if m.region == dark:
                first = REGION_OUTAGE
            elif causes:
                first = causes.pop()
            elif self.rng.random() < FAULTY_SHARE:
                first = self.rng.choice(singles)
            else:
                continue
            # a region outage is the dark region's alone: on one terminal elsewhere it would
            # be a host that refuses that terminal
            second = [c for c in partners(first) if c != REGION_OUTAGE]
            if second and self.rng.random() < self.scenario.two_fault_share:
                m.faults = (first, self.rng.choice(second))
            else:
                m.faults = (first,)

    def _rng(self, m: Member, what: str) -> random.Random:
        """Each terminal's own randomness: the same faults whatever order tasks run in."""
        return random.Random(f"{self.seed}:{what}:{m.tid}")

    async def settle(self) -> None:
        self._assign()
        for m in self.fleet.members:
            rng = self._rng(m, "inject")
            kept = []
            for cause in m.faults:
                if await SPECS[cause].inject(self.fleet, m, rng):
                    kept.append(cause)
                    self.result.injected_log.append(f"{m.tid} {cause}")
                else:
                    self.result.not_injected.append(f"{m.tid}: {cause}")
            m.faults = tuple(kept)
        # Every terminal open again once the faults are in, keeping the host informed itself:
        # a cut-off terminal's echoes cannot connect, the others' keep "last seen" fresh.
        for m in self.fleet.members:
            self.fleet.open(m)
        await self._settle()

    async def _settle(self) -> None:
        await asyncio.sleep(SIM_DARK_AFTER.total_seconds() * 1.5)  # the dark region goes quiet
        attempts: dict[str, tuple[int, Attempt]] = {}
        at_once = asyncio.Semaphore(SETTLING_AT_ONCE)

        async def attempt(m: Member) -> None:
            batch = self.fleet.open(m).terminal.batch
            go = attempt_for(m.faults)
            async with at_once:  # shops do not all press "settle" in the same second
                attempts[m.tid] = (batch, await go(self.fleet, m, self._rng(m, "attempt")))

        await self._all(attempt)
        gate = asyncio.Semaphore(DIAGNOSES_AT_ONCE)

        async def look(m: Member) -> None:
            async with gate:
                await self._diagnose(m, *attempts[m.tid])

        await self._all(look)
        self.result.cases.sort(key=lambda c: c.tid)
        for m in self.fleet.members:
            for cause in m.faults:
                await SPECS[cause].remove(self.fleet, m, self._rng(m, "remove"))
        await self._all(self._recover)

    async def _diagnose(self, m: Member, batch: int, attempt: Attempt) -> None:
        """Every pass of the doctor on the terminal as the attempt left it, faults in force,
        with the terminal's application closed (its informer journals what the link does)."""
        await self.fleet.close_terminal(m)
        case = Case(m.tid, m.faults, attempt.detail, settled=self._settled(m, batch, attempt))
        before = fingerprint(m.directory)
        for p in Pass:
            report = await diagnose(m.directory, pass_options(p, self.fleet.engine))
            case.seen[p] = Seen(
                tuple(d.cause.id for d in report.diagnoses),
                tuple(d.score for d in report.diagnoses),
                report.ok,
            )
        if fingerprint(m.directory) != before:
            self.result.doctor_wrote.append(m.tid)
        self.result.cases.append(case)
        # The shop's terminal is back in service: it keeps the host informed again, so the
        # fleet does not go quiet region by region while the doctor works through it.
        self.fleet.open(m)

    def _settled(self, m: Member, batch: int, attempt: Attempt) -> bool:
        """The attempt settled cleanly, checked on both sides: the merchant saw it balanced
        with its slip printed, the journal (read-only) has the batch done with nothing left to
        print or reverse, and the host closed the batch."""
        if attempt.failed:
            return False
        conn = sqlite3.connect(f"file:{m.directory / JOURNAL_FILE}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            st = q.get_settlement(conn, batch)
            waiting = conn.execute(
                "SELECT count(*) FROM print_queue WHERE printed_at = ''"
            ).fetchone()[0]
            done = st is not None and st.step.value == "done" and not waiting
            done = done and not q.pending_reversals(conn)
        finally:
            conn.close()
        assert self.fleet.engine is not None
        with self.fleet.engine.connect() as hc:
            status = hc.execute(
                sa.select(batches.c.status).where(batches.c.tid == m.tid, batches.c.batch == batch)
            ).scalar_one_or_none()
        return done and status == "closed"

    async def _recover(self, m: Member) -> None:
        for _ in range(3):
            await self.fleet.close_terminal(m)
            done = await settle_in_process(self.fleet, m, operator_for(m.faults))
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
    scenario: Scenario,
    terminals: int = 20,
    per_terminal: int = 50,
    workdir: Path | None = None,
    tick: Tick | None = None,
) -> ChaosResult:
    start = time.monotonic()
    work = workdir or Path(tempfile.mkdtemp(prefix="possettle-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    fleet = Fleet(work, terminals, scenario.regions, scenario.seed)
    chaos = Chaos(fleet, per_terminal, scenario, tick)
    try:
        await fleet.start()
        await chaos.day()
        await chaos.settle()
        chaos.check()
    finally:
        await fleet.stop()
    chaos.result.seconds = time.monotonic() - start
    return chaos.result

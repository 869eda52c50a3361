"""A host-side business day: a fleet of scripted terminals against a real host over TCP.

Until the terminal core lands, each simulated terminal keeps its own in-memory record of
what the host approved (its "journal") and settles from it; at the end the journal of every
terminal is compared with the host's ledger to count what was lost or doubled.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from possettle.crypto.keys import Key, generate_key
from possettle.host import registry
from possettle.host.config import HostConfig
from possettle.host.ledger.database import Database
from possettle.host.ledger.schema import ledger_entries, recon_exceptions
from possettle.host.server import HostServer, serve
from possettle.iso8583.fields import HalfTotals, SettlementTotals, UploadRecord
from possettle.link import messages as m
from possettle.link.client import Link, LinkError

MID = "898100012340001"
CUP_PANS = ["6222021234567890128", "6212345678901234565", "6259650000000000018"]
FOREIGN_PANS = ["4111111111111111", "5500000000000004"]


@dataclass
class Txn:
    stan: int
    kind: str  # sale | offline | refund
    amount: int
    pan: str
    domestic: bool
    rrn: str
    auth: str
    live: bool = True


@dataclass
class TerminalDay:
    tid: str
    tmk: Key
    journal: list[Txn] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    declined: int = 0
    result: str = "pending"
    batch: int = 1
    uploaded: int = 0

    def totals(self) -> SettlementTotals:
        halves = {True: [0, 0, 0, 0], False: [0, 0, 0, 0]}
        for t in self.journal:
            if not t.live:
                continue
            h = halves[t.domestic]
            if t.kind == "refund":
                h[2] += t.amount
                h[3] += 1
            else:
                h[0] += t.amount
                h[1] += 1
        dom, fgn = halves[True], halves[False]
        return SettlementTotals(
            HalfTotals(dom[0], dom[1], dom[2], dom[3]), HalfTotals(fgn[0], fgn[1], fgn[2], fgn[3])
        )


@dataclass
class DayResult:
    terminals: list[TerminalDay]
    transactions: int
    lost: int
    duplicated: int
    exceptions: int
    port: int
    workdir: str

    def as_dict(self) -> dict[str, object]:
        return {
            "terminals": len(self.terminals),
            "transactions": self.transactions,
            "settlements": [
                {
                    "tid": t.tid,
                    "batch": t.batch,
                    "result": t.result,
                    "uploaded": t.uploaded,
                    "events": t.events,
                }
                for t in self.terminals
            ],
            "lost": self.lost,
            "duplicated": self.duplicated,
            "recon_exceptions": self.exceptions,
            "workdir": self.workdir,
        }


Progress = Callable[[str, int], None]


async def _sale(link: Link, day: TerminalDay, rng: random.Random, amount: int) -> None:
    domestic = rng.random() < 0.8
    pan = rng.choice(CUP_PANS if domestic else FOREIGN_PANS)
    pin = "123456" if rng.random() < 0.95 else "111111"
    ex = await link.send(
        m.sale(
            link.tid,
            link.mid,
            link.next_stan(),
            link.batch,
            pan=pan,
            amount=amount,
            expiry="3012",
            pin=pin,
            pik=link.pik,
        )
    )
    if ex.code == "00":
        day.journal.append(
            Txn(
                int(ex.request["11"]), "sale", amount, pan, domestic, ex.reply["37"], ex.reply["38"]
            )
        )
    else:
        day.declined += 1


async def _business(
    link: Link, day: TerminalDay, rng: random.Random, count: int, index: int, tick: Progress
) -> None:
    for i in range(count):
        roll = rng.random()
        sales = [t for t in day.journal if t.kind == "sale" and t.live]
        if roll < 0.08 and sales:
            t = rng.choice(sales)
            ex = await link.send(
                m.void(
                    link.tid,
                    link.mid,
                    link.next_stan(),
                    link.batch,
                    pan=t.pan,
                    amount=t.amount,
                    orig_batch=link.batch,
                    orig_stan=t.stan,
                    rrn=t.rrn,
                    auth_code=t.auth,
                )
            )
            if ex.code == "00":
                t.live = False
        elif roll < 0.16 and sales:
            t = rng.choice(sales)
            amount = max(1, t.amount // 2)
            ex = await link.send(
                m.refund(
                    link.tid,
                    link.mid,
                    link.next_stan(),
                    link.batch,
                    pan=t.pan,
                    amount=amount,
                    orig_batch=link.batch,
                    orig_stan=t.stan,
                    orig_date="1126",
                    rrn=t.rrn,
                )
            )
            if ex.code == "00":
                day.journal.append(
                    Txn(
                        int(ex.request["11"]),
                        "refund",
                        amount,
                        t.pan,
                        t.domestic,
                        ex.reply["37"],
                        "",
                    )
                )
        elif roll < 0.22:
            pan = rng.choice(CUP_PANS)
            amount = rng.randint(100, 20000)
            stan = link.next_stan()
            ex = await link.send(
                m.offline_advice(
                    link.tid,
                    link.mid,
                    stan,
                    link.batch,
                    pan=pan,
                    amount=amount,
                    time_hhmmss="101500",
                    date_mmdd="1126",
                    auth_code=f"F{stan:05d}"[:6],
                )
            )
            if ex.code == "00":
                day.journal.append(Txn(stan, "offline", amount, pan, True, ex.reply["37"], ""))
        else:
            await _sale(link, day, rng, rng.randint(100, 50000))
        tick(day.tid, 1)
        if index == 1 and i == count // 2:
            await _dropped_mid_sale(link, day)


async def _dropped_mid_sale(link: Link, day: TerminalDay) -> None:
    """The connection drops after a sale leaves: its fate is unknown, so it is reversed."""
    req = m.sale(
        link.tid,
        link.mid,
        link.next_stan(),
        link.batch,
        pan=CUP_PANS[0],
        amount=4321,
        expiry="3012",
    )
    assert link._writer is not None
    link._writer.write(link.encode(req))
    await link._writer.drain()
    await link.close()
    await asyncio.sleep(0.05)
    await link.connect()
    ex = await link.send(m.reversal(req, "98"))
    day.events.append(f"connection dropped mid-sale; reversal answered {ex.code}")


async def _settle(link: Link, day: TerminalDay, claim_extra: bool) -> None:
    totals = day.totals()
    if claim_extra:
        # This terminal holds an offline sale the host never received: the host sees the
        # batch differently and the settlement needs a batch upload.
        ghost = Txn(link.next_stan(), "offline", 1888, CUP_PANS[1], True, "", "F99999")
        day.journal.append(ghost)
        totals = day.totals()
        day.events.append("offline sale never forwarded: host totals differ")
    day.batch = link.batch
    ex = await link.send(m.settlement(link.tid, link.mid, link.next_stan(), link.batch, totals))
    host_totals = SettlementTotals.parse(ex.reply["48"])
    if host_totals.balanced:
        await link.send(
            m.upload_end(link.tid, link.mid, link.next_stan(), link.batch, 0, balanced=True)
        )
        day.result = "balanced"
        return
    records = [UploadRecord(t.domestic, t.stan, t.pan, t.amount) for t in day.journal if t.live]
    for i in range(0, len(records), 8):
        up = await link.send(
            m.batch_upload(link.tid, link.mid, link.next_stan(), link.batch, records[i : i + 8])
        )
        if up.code in ("00", "94"):
            day.uploaded += len(records[i : i + 8])
    end = await link.send(
        m.upload_end(link.tid, link.mid, link.next_stan(), link.batch, day.uploaded, balanced=False)
    )
    day.result = "balanced after upload" if end.code == "00" else f"failed ({end.code})"


async def _terminal(
    server: HostServer, day: TerminalDay, index: int, count: int, seed: int, tick: Progress
) -> None:
    rng = random.Random(seed * 1000 + index)
    link = Link("127.0.0.1", server.port, day.tid, MID, day.tmk, version="010200")
    try:
        await link.connect()
        ex = await link.sign_on()
        if ex.code != "00":
            day.result = f"sign-on refused ({ex.code})"
            return
        await _business(link, day, rng, count, index, tick)
        await _settle(link, day, claim_extra=(index == 2))
    except LinkError as exc:
        day.result = f"failed: {exc}"
    finally:
        await link.close()


def _compare(url: str, key_file: Path, days: list[TerminalDay]) -> tuple[int, int, int]:
    """Count journal entries missing from the ledger (lost) and ledger doubles (duplicated)."""
    db = Database.open(url, key_file=key_file, migrate=False)
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    ledger_entries.c.tid,
                    ledger_entries.c.stan,
                    ledger_entries.c.kind,
                    ledger_entries.c.amount,
                    ledger_entries.c.reversed,
                )
            ).all()
            exceptions = conn.execute(
                sa.select(sa.func.count()).select_from(recon_exceptions)
            ).scalar_one()
    finally:
        db.engine.dispose()
    seen: dict[tuple[str, int, str], int] = {}
    for r in rows:
        key = (r.tid, int(r.stan), r.kind)
        seen[key] = seen.get(key, 0) + 1
    duplicated = sum(n - 1 for n in seen.values() if n > 1)
    lost = 0
    for d in days:
        for t in d.journal:
            if t.rrn and (d.tid, t.stan, t.kind) not in seen:
                lost += 1
    return lost, duplicated, int(exceptions)


async def run_day(
    terminals: int = 8,
    per_terminal: int = 25,
    seed: int = 7,
    workdir: Path | None = None,
    tick: Progress | None = None,
) -> DayResult:
    work = workdir or Path(tempfile.mkdtemp(prefix="possettle-demo-"))
    url = f"sqlite:///{work / 'host.db'}"
    key_file = work / "host.key"
    days = [TerminalDay(f"DEMO{i:04d}", generate_key(16)) for i in range(terminals)]
    db = Database.open(url, key_file=key_file)
    await db.start()
    try:

        def register(conn: sa.Connection) -> None:
            registry.add_merchant(conn, MID, "possettle demo shop")
            for d in days:
                registry.add_terminal(conn, db.vault, d.tid, MID, d.tmk, region="demo")

        await db.write(register)
    finally:
        await db.close()

    config = HostConfig(db_url=url, port=0, key_file=key_file)
    stop = asyncio.Event()
    ready: asyncio.Future[HostServer] = asyncio.get_running_loop().create_future()
    host = asyncio.create_task(serve(config, stop=stop, ready=ready.set_result))
    server = await ready
    progress = tick or (lambda _tid, _n: None)
    try:
        async with asyncio.TaskGroup() as tg:
            for i, d in enumerate(days):
                tg.create_task(_terminal(server, d, i, per_terminal, seed, progress))
    finally:
        stop.set()
        await host
    lost, duplicated, exceptions = _compare(url, key_file, days)
    txns = sum(len(d.journal) for d in days)
    return DayResult(days, txns, lost, duplicated, exceptions, server.port, str(work))

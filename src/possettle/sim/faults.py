"""The faults the chaos suite injects at settlement, each named by the cause it should lead
the doctor to (docs/doctor.md, "Causes"), with how to inject it, how the merchant then tries to
settle, and how the fault goes away again; and which two faults may share a terminal.

Two faults share a terminal only when both act on it together (:data:`PAIRS`):

* a printer fault goes with any fault of another kind: the printer is a device of its own,
  and a driver can be asked its state whatever the settlement did;
* a local refusal (a locked operator, the settlement window) goes with a link fault
  (``host.unreachable``, ``network.unstable``): the terminal refuses before it connects, and
  the link is as broken as it would have been.

Left out, because one of the two would never act: two link faults on one link (one proxy, one
state); two printer states at once; a crash or power cut with anything that stops the
settlement before its crash point is reached (a link fault, a refusal); an out-of-balance batch
with anything that stops the settlement before the host compares totals; two host-side
refusals of the same sign-on (an unregistered terminal and an outdated one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from possettle.ledger.schema import ledger_entries
from possettle.sim.fleet import OLD_VERSION, VERSION, Fleet, Member
from possettle.sim.proxy import Direction, Faults
from possettle.terminal.config import TerminalConfig
from possettle.terminal.crashpoints import ENV as CRASH_ENV
from possettle.terminal.crashpoints import MODE_ENV
from possettle.terminal.errors import Refused
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.records import TxnKind, TxnState
from possettle.terminal.operators import Role
from possettle.terminal.printer.simulated import PrinterState, set_state

# Where a power cut or a crash may land during a settlement (a sample of the crash points).
SETTLE_POINTS = (
    "send.settlement.after", "recv.settlement.after", "journal.settle_reply.before",
    "send.upload_end.after", "journal.upload_end_intent.after", "journal.slip_queued.before",
)  # fmt: skip
PASSWORD = "8642"  # noqa: S105 - the simulated operators' password, not a secret


@dataclass
class Attempt:
    """What happened when the merchant pressed "settle" with the fault in force."""

    failed: bool
    detail: str


# A step returns whether it took effect (an out-of-balance batch needs a sale to forget).
Step = Callable[[Fleet, Member, random.Random], Awaitable[bool]]


async def _nothing(fleet: Fleet, m: Member, rng: random.Random) -> bool:
    del fleet, m, rng
    return True


async def settle_in_process(fleet: Fleet, m: Member, op_id: str | None = None) -> Attempt:
    pos = fleet.open(m)
    try:
        op = pos.login(op_id, PASSWORD) if op_id else None
        report = await (pos.settle(op=op) if op else pos.settle())
    except Refused as exc:
        return Attempt(True, f"refused {exc.code}")
    if not report.ok:
        f = report.failure or {}
        return Attempt(True, f"failed at {f.get('step')}: {f.get('message')}")
    if not report.printed:
        return Attempt(True, "settled; slip not printed")
    if report.result == "balanced_after_upload":
        return Attempt(True, "settled after a batch upload (out of balance)")
    return Attempt(False, report.result)


async def _settle_in_a_process_that_dies(
    fleet: Fleet, m: Member, rng: random.Random, mode: str
) -> Attempt:
    await fleet.close_terminal(m)
    point = rng.choice(SETTLE_POINTS)
    env = {**os.environ, CRASH_ENV: point, MODE_ENV: mode}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "possettle.cli.main", "terminal", "settle", "--dir",
        str(m.directory), "--json", env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    code = await proc.wait()
    m.events.append(f"{mode} crash at {point} (exit {code})")
    return Attempt(code != 0, f"process died at {point} with {code}")


def _edit_config(m: Member, **changes: object) -> None:
    cfg = TerminalConfig.load(m.directory)
    cfg.with_changes(**changes).save(m.directory)


# --------------------------------------------------------------------------- injections


async def _forget_one(fleet: Fleet, m: Member, rng: random.Random) -> bool:
    pos = fleet.open(m)
    batch = pos.terminal.batch
    rows = q.batch_txns(pos.journal.conn, batch)
    refunded = {t.orig_stan for t in rows if t.kind is TxnKind.REFUND}
    sales = [
        t for t in rows if t.kind is TxnKind.SALE and t.state is TxnState.APPROVED
        and not t.voided and t.stan not in refunded  # nothing at the host points at it
    ]  # fmt: skip
    if not sales:
        return False
    victim = rng.choice(sales)
    assert fleet.engine is not None
    with fleet.engine.begin() as conn:
        conn.execute(sa.delete(ledger_entries).where(
            ledger_entries.c.tid == m.tid, ledger_entries.c.batch == batch,
            ledger_entries.c.stan == f"{victim.stan:06d}"))  # fmt: skip
    return True


async def _outdated(fleet: Fleet, m: Member, rng: random.Random) -> bool:
    del rng
    pos = fleet.open(m)
    with pos.journal.write("meta") as conn:  # a reboot after a downgrade: keys gone
        q.drop_key(conn, "mak")
        q.drop_key(conn, "pik")
    await fleet.close_terminal(m)
    _edit_config(m, version=OLD_VERSION)
    return True


async def _outdated_off(fleet: Fleet, m: Member, rng: random.Random) -> bool:
    del rng
    await fleet.close_terminal(m)
    _edit_config(m, version=VERSION)
    return True


async def _outside_hours(fleet: Fleet, m: Member, rng: random.Random) -> bool:
    del rng
    await fleet.close_terminal(m)
    now = fleet_now_local()
    start = (now + 2) % 24  # a window that is not now
    window = {"start": f"{start:02d}:00", "end": f"{(start + 1) % 24:02d}:00"}
    _edit_config(m, policy={"settlement_window": window})
    return True


async def _hours_off(fleet: Fleet, m: Member, rng: random.Random) -> bool:
    del rng
    await fleet.close_terminal(m)
    _edit_config(m, policy={"settlement_window": "always"})
    return True


def fleet_now_local() -> int:
    """The hour in Beijing now (the terminals' policy timezone is +08:00)."""
    return (datetime.now(UTC) + timedelta(hours=8)).hour


async def _lock_operator(fleet: Fleet, m: Member, rng: random.Random) -> bool:
    del rng
    pos = fleet.open(m)
    pos.add_operator("01", "Wang", Role.SUPERVISOR, PASSWORD)
    pos.add_operator("02", "Li", Role.SUPERVISOR, PASSWORD, "01", PASSWORD)
    for _ in range(3):
        with contextlib.suppress(Refused):
            pos.login("01", "0000x")
    return True


async def _plain(fleet: Fleet, m: Member, rng: random.Random) -> Attempt:
    del rng
    return await settle_in_process(fleet, m)


async def _as_01(fleet: Fleet, m: Member, rng: random.Random) -> Attempt:
    del rng
    return await settle_in_process(fleet, m, "01")


class Kind(StrEnum):
    """What a fault acts on; :data:`PAIRS` is decided by kind (the module docstring says why)."""

    PROCESS = "process"  # the terminal application dies mid-settlement
    PRINTER = "printer"
    BOOKS = "books"  # what the host holds of the batch
    LINK = "link"  # the terminal's own path to the host
    REGION = "region"  # the path of every terminal of a region
    HOST = "host"  # what the host allows this terminal (registry, minimum version)
    REFUSAL = "refusal"  # the terminal refuses locally (operator, settlement window)


@dataclass(frozen=True)
class FaultSpec:
    cause: str
    kind: Kind
    inject: Step
    remove: Step
    attempt: Callable[[Fleet, Member, random.Random], Awaitable[Attempt]] = _plain
    operator: str | None = None  # who settles once the fault is gone


def _state(state: PrinterState) -> Step:
    async def go(fleet: Fleet, m: Member, rng: random.Random) -> bool:
        del fleet, rng
        set_state(m.directory, state)
        return True

    return go


def _net(faults: Faults) -> Step:
    async def go(fleet: Fleet, m: Member, rng: random.Random) -> bool:
        del rng
        await fleet.close_terminal(m)  # the next command opens a fresh connection
        m.proxy.faults = faults
        return True

    return go


# An unstable network loses every reply, or only some: a lossy one may let a settlement
# through, and the doctor must then still name it or report the terminal recovered.
UNSTABLE_DROPS = (1.0, 0.3)


async def _unstable(fleet: Fleet, m: Member, rng: random.Random) -> bool:
    drop = rng.choice(UNSTABLE_DROPS)
    m.events.append(f"network.unstable: {drop:.0%} of replies dropped")
    return await _net(Faults(drop=drop, direction=Direction.DOWN))(fleet, m, rng)


def _status(status: str) -> Step:
    async def go(fleet: Fleet, m: Member, rng: random.Random) -> bool:
        del rng
        fleet.set_status(m.tid, status)
        return True

    return go


async def _power(fleet: Fleet, m: Member, rng: random.Random) -> Attempt:
    return await _settle_in_a_process_that_dies(fleet, m, rng, "power")


async def _crash(fleet: Fleet, m: Member, rng: random.Random) -> Attempt:
    return await _settle_in_a_process_that_dies(fleet, m, rng, "exception")


_PRINTER_OK = _state(PrinterState.OK)
_LINK_OK = _net(Faults())
_REFUSE = _net(Faults(refuse=True))
SPECS: dict[str, FaultSpec] = {
    s.cause: s
    for s in (
        FaultSpec("power.interrupted", Kind.PROCESS, _nothing, _nothing, _power),
        FaultSpec("software.crash", Kind.PROCESS, _nothing, _nothing, _crash),
        FaultSpec("printer.paper_out", Kind.PRINTER, _state(PrinterState.PAPER_OUT), _PRINTER_OK),
        FaultSpec("printer.fault", Kind.PRINTER, _state(PrinterState.OFFLINE), _PRINTER_OK),
        FaultSpec("batch.out_of_balance", Kind.BOOKS, _forget_one, _nothing),
        FaultSpec("host.unreachable", Kind.LINK, _REFUSE, _LINK_OK),
        FaultSpec("network.unstable", Kind.LINK, _unstable, _LINK_OK),
        FaultSpec("software.outdated", Kind.HOST, _outdated, _outdated_off),
        FaultSpec("terminal.unregistered", Kind.HOST, _status("disabled"), _status("active")),
        FaultSpec("operation.outside_hours", Kind.REFUSAL, _outside_hours, _hours_off),
        FaultSpec("operator.auth_failed", Kind.REFUSAL, _lock_operator, _nothing, _as_01, "02"),
        FaultSpec("region.outage", Kind.REGION, _REFUSE, _LINK_OK),
    )
}
REGION_OUTAGE = "region.outage"


def compatible(a: str, b: str) -> bool:
    """Whether faults ``a`` and ``b`` may share a terminal (the module docstring says why)."""
    kinds = {SPECS[a].kind, SPECS[b].kind}
    if len(kinds) < 2:
        return False
    return Kind.PRINTER in kinds or kinds == {Kind.REFUSAL, Kind.LINK}


#: Every pair of faults that may share a terminal, each pair once, in a stable order.
PAIRS: tuple[tuple[str, str], ...] = tuple(
    (a, b) for a in sorted(SPECS) for b in sorted(SPECS) if a < b and compatible(a, b)
)


def partners(cause: str) -> list[str]:
    """The faults that may join ``cause`` on one terminal, sorted."""
    return sorted(b for b in SPECS if b != cause and compatible(cause, b))


def attempt_for(
    faults: tuple[str, ...],
) -> Callable[[Fleet, Member, random.Random], Awaitable[Attempt]]:
    """How the merchant settles with these faults in force: a process fault's dying process,
    a locked operator's login, or a plain settlement (no pair holds two of the first two)."""
    special = [SPECS[f].attempt for f in faults if SPECS[f].attempt is not _plain]
    assert len(special) <= 1, faults
    return special[0] if special else _plain


def operator_for(faults: tuple[str, ...]) -> str | None:
    """Who settles once the faults are gone."""
    return next((op for f in faults if (op := SPECS[f].operator)), None)


def describe() -> str:
    return json.dumps({"causes": sorted(SPECS), "pairs": [list(p) for p in PAIRS]})

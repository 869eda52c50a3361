"""The faults the chaos suite injects at settlement, each named by the cause it should lead
the doctor to (shared/causes.md), with how to inject it, how the merchant then tries to
settle, and how the fault goes away again."""

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


Step = Callable[[Fleet, Member, random.Random], Awaitable[None]]


async def _nothing(fleet: Fleet, m: Member, rng: random.Random) -> None:
    del fleet, m, rng


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


async def _forget_one(fleet: Fleet, m: Member, rng: random.Random) -> None:
    pos = fleet.open(m)
    batch = pos.terminal.batch
    rows = q.batch_txns(pos.journal.conn, batch)
    refunded = {t.orig_stan for t in rows if t.kind is TxnKind.REFUND}
    sales = [
        t for t in rows if t.kind is TxnKind.SALE and t.state is TxnState.APPROVED
        and not t.voided and t.stan not in refunded  # nothing at the host points at it
    ]  # fmt: skip
    if not sales:
        return
    victim = rng.choice(sales)
    assert fleet.engine is not None
    with fleet.engine.begin() as conn:
        conn.execute(sa.delete(ledger_entries).where(
            ledger_entries.c.tid == m.tid, ledger_entries.c.batch == batch,
            ledger_entries.c.stan == f"{victim.stan:06d}"))  # fmt: skip


async def _outdated(fleet: Fleet, m: Member, rng: random.Random) -> None:
    del rng
    pos = fleet.open(m)
    with pos.journal.write("meta") as conn:  # a reboot after a downgrade: keys gone
        q.drop_key(conn, "mak")
        q.drop_key(conn, "pik")
    await fleet.close_terminal(m)
    _edit_config(m, version=OLD_VERSION)


async def _outdated_off(fleet: Fleet, m: Member, rng: random.Random) -> None:
    del rng
    await fleet.close_terminal(m)
    _edit_config(m, version=VERSION)


async def _outside_hours(fleet: Fleet, m: Member, rng: random.Random) -> None:
    del rng
    await fleet.close_terminal(m)
    now = fleet_now_local()
    start = (now + 2) % 24  # a window that is not now
    window = {"start": f"{start:02d}:00", "end": f"{(start + 1) % 24:02d}:00"}
    _edit_config(m, policy={"settlement_window": window})


async def _hours_off(fleet: Fleet, m: Member, rng: random.Random) -> None:
    del rng
    await fleet.close_terminal(m)
    _edit_config(m, policy={"settlement_window": "always"})


def fleet_now_local() -> int:
    """The hour in Beijing now (the terminals' policy timezone is +08:00)."""
    return (datetime.now(UTC) + timedelta(hours=8)).hour


async def _lock_operator(fleet: Fleet, m: Member, rng: random.Random) -> None:
    del rng
    pos = fleet.open(m)
    pos.add_operator("01", "Wang", Role.SUPERVISOR, PASSWORD)
    pos.add_operator("02", "Li", Role.SUPERVISOR, PASSWORD, "01", PASSWORD)
    for _ in range(3):
        with contextlib.suppress(Refused):
            pos.login("01", "0000x")


async def _proxy(fleet: Fleet, m: Member, faults: Faults) -> None:
    del fleet
    m.proxy.faults = faults


@dataclass(frozen=True)
class FaultSpec:
    cause: str
    inject: Step
    remove: Step
    attempt: Callable[[Fleet, Member, random.Random], Awaitable[Attempt]]
    operator: str | None = None  # who settles once the fault is gone


async def _plain(fleet: Fleet, m: Member, rng: random.Random) -> Attempt:
    del rng
    return await settle_in_process(fleet, m)


async def _as_01(fleet: Fleet, m: Member, rng: random.Random) -> Attempt:
    del rng
    return await settle_in_process(fleet, m, "01")


def _state(state: PrinterState) -> Step:
    async def go(fleet: Fleet, m: Member, rng: random.Random) -> None:
        del fleet, rng
        set_state(m.directory, state)

    return go


def _net(faults: Faults) -> Step:
    async def go(fleet: Fleet, m: Member, rng: random.Random) -> None:
        del rng
        await fleet.close_terminal(m)  # the next command opens a fresh connection
        await _proxy(fleet, m, faults)

    return go


def _status(status: str) -> Step:
    async def go(fleet: Fleet, m: Member, rng: random.Random) -> None:
        del rng
        fleet.set_status(m.tid, status)

    return go


async def _power(fleet: Fleet, m: Member, rng: random.Random) -> Attempt:
    return await _settle_in_a_process_that_dies(fleet, m, rng, "power")


async def _crash(fleet: Fleet, m: Member, rng: random.Random) -> Attempt:
    return await _settle_in_a_process_that_dies(fleet, m, rng, "exception")


SPECS: dict[str, FaultSpec] = {
    s.cause: s
    for s in (
        FaultSpec("power.interrupted", _nothing, _nothing, _power),
        FaultSpec("software.crash", _nothing, _nothing, _crash),
        FaultSpec(
            "printer.paper_out", _state(PrinterState.PAPER_OUT), _state(PrinterState.OK), _plain
        ),
        FaultSpec("printer.fault", _state(PrinterState.OFFLINE), _state(PrinterState.OK), _plain),
        FaultSpec("batch.out_of_balance", _forget_one, _nothing, _plain),
        FaultSpec("host.unreachable", _net(Faults(refuse=True)), _net(Faults()), _plain),
        FaultSpec(
            "network.unstable",
            _net(Faults(drop=1.0, direction=Direction.DOWN)),
            _net(Faults()),
            _plain,
        ),
        FaultSpec("software.outdated", _outdated, _outdated_off, _plain),
        FaultSpec("terminal.unregistered", _status("disabled"), _status("active"), _plain),
        FaultSpec("operation.outside_hours", _outside_hours, _hours_off, _plain),
        FaultSpec("operator.auth_failed", _lock_operator, _nothing, _as_01, operator="02"),
        FaultSpec("region.outage", _net(Faults(refuse=True)), _net(Faults()), _plain),
    )
}


def describe() -> str:
    return json.dumps(sorted(SPECS))

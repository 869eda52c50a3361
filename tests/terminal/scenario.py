"""Scenario helpers: a host on the simulated business day, its ledger as plain rows, faults.

The host here runs on the day the terminals' :class:`~possettle.clock.FixedClock` shows
(``DAYTIME``) and moves with real time from there, so the terminal's sign-on clock offset is
about zero and business hours, the settlement window and issuer outage windows do not depend
on when the tests run.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possettle.clock import OffsetClock
from possettle.crypto.keys import Key
from possettle.crypto.vault import Vault
from possettle.host.config import HostConfig
from possettle.host.server import HostServer, serve
from possettle.ledger.engine import create_engine_for
from possettle.ledger.queries import batch_sums
from possettle.ledger.schema import (
    batches,
    ledger_entries,
    recon_exceptions,
    requests,
    terminals,
    upload_items,
)
from possettle.terminal.config import TerminalConfig
from tests.host.harness import RunningHost
from tests.terminal.harness import DAYTIME


@contextlib.asynccontextmanager
async def host_on_day(
    url: str,
    key_file: Path,
    *,
    issuer: str = "sim",
    day: datetime = DAYTIME,
    **config: Any,
) -> AsyncIterator[RunningHost]:
    """``tests.host.harness.running_host`` with the host's clock set to ``day``."""
    cfg = HostConfig(db_url=url, port=0, issuer=issuer, key_file=key_file, **config)
    clock = OffsetClock(day - datetime.now(UTC))
    stop = asyncio.Event()
    ready: asyncio.Future[HostServer] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(cfg, clock=clock, stop=stop, ready=ready.set_result))
    done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    host = RunningHost(ready.result(), cfg, stop, task)
    try:
        yield host
    finally:
        stop.set()
        await task


def closed_port() -> int:
    """A port nothing listens on (bound, then released): connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def point_at(directory: Path, port: int) -> None:
    """Re-point a terminal at another host port (the merchant's router came back)."""
    TerminalConfig.load(directory).with_changes(port=port).save(directory)


def rules_file(directory: Path, text: str) -> str:
    """An issuer spec ``sim:PATH`` for a simulator rules file with ``text``."""
    path = directory / "issuer-rules.toml"
    path.write_text(text, encoding="utf-8")
    return f"sim:{path}"


def _query(url: str, stmt: sa.Select[Any]) -> list[dict[str, Any]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]
    finally:
        engine.dispose()


def ledger(url: str, tid: str) -> list[dict[str, Any]]:
    """The host's ledger entries of ``tid`` in booking order."""
    le = ledger_entries.c
    return _query(
        url,
        sa.select(le.id, le.batch, le.stan, le.kind, le.amount, le.reversed, le.voided, le.rrn)
        .where(le.tid == tid)
        .order_by(le.id),
    )


def uploads(url: str, tid: str, batch: int) -> list[dict[str, Any]]:
    ui = upload_items.c
    return _query(
        url,
        sa.select(ui.stan, ui.domestic, ui.amount, ui.status)
        .where(ui.tid == tid, ui.batch == batch)
        .order_by(ui.id),
    )


def exceptions(url: str, tid: str) -> list[dict[str, Any]]:
    rx = recon_exceptions.c
    return _query(
        url,
        sa.select(rx.batch, rx.stan, rx.category, rx.amount).where(rx.tid == tid).order_by(rx.id),
    )


def batch_row(url: str, tid: str, batch: int) -> dict[str, Any]:
    b = batches.c
    rows = _query(url, sa.select(batches).where(b.tid == tid, b.batch == batch))
    assert len(rows) == 1, f"host has no batch {batch} for {tid}"
    return rows[0]


def live_totals(url: str, tid: str, batch: int) -> tuple[int, int, int, int]:
    """(debit amount, debit count, credit amount, credit count): the host's batch sums."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            sums = batch_sums(conn, tid, batch)
    finally:
        engine.dispose()
    d, f = sums.domestic, sums.foreign
    return (
        d.debit_amount + f.debit_amount,
        d.debit_count + f.debit_count,
        d.credit_amount + f.credit_amount,
        d.credit_count + f.credit_count,
    )


def terminal_totals(status: dict[str, Any]) -> tuple[int, int, int, int]:
    """The same four figures from ``Pos.status()`` (both halves together)."""
    t = status["totals"]
    return (
        t["domestic"]["debit_amount"] + t["foreign"]["debit_amount"],
        t["domestic"]["debit_count"] + t["foreign"]["debit_count"],
        t["domestic"]["credit_amount"] + t["foreign"]["credit_amount"],
        t["domestic"]["credit_count"] + t["foreign"]["credit_count"],
    )


def stored_code(url: str, tid: str, batch: int, stan: int, mti: str) -> str | None:
    """The response code the host stored for one request (None: it has not answered yet)."""
    r = requests.c
    rows = _query(
        url,
        sa.select(r.response_code).where(
            r.tid == tid, r.batch == batch, r.stan == f"{stan:06d}", r.mti == mti
        ),
    )
    return None if not rows else str(rows[0]["response_code"])


async def wait_for_host(url: str, tid: str, batch: int, stan: int, mti: str) -> str:
    """Wait (at most 20 s) until the host has answered one request, even to no one."""
    for _ in range(400):
        code = stored_code(url, tid, batch, stan, mti)
        if code is not None:
            return code
        await asyncio.sleep(0.05)
    raise AssertionError(f"the host never answered {mti} STAN {stan:06d}")


def rekey_at_host(url: str, key_file: Path, tid: str, tmk: Key) -> None:
    """Fault: the acquirer loaded another TMK for ``tid`` that never reached the terminal."""
    vault = Vault.from_env_or_file(key_file)
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.update(terminals)
                .where(terminals.c.tid == tid)
                .values(tmk_sealed=vault.seal_key(tmk, f"tmk:{tid}".encode()))
            )
    finally:
        engine.dispose()

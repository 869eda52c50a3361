"""Helpers for fault tests: a terminal CLI process that may die, and the host's view."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import batches, ledger_entries, upload_items
from possettle.sim.compare import Comparison, compare


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, object]:
        return json.loads(self.stdout)  # type: ignore[no-any-return]


async def cli(directory: Path, *args: str, crash_at: str | None = None) -> Run:
    """``possettle terminal ARGS --dir DIR --json`` in its own process."""
    env = dict(os.environ)
    env.pop("POSSETTLE_CRASH_AT", None)
    if crash_at:
        env["POSSETTLE_CRASH_AT"] = crash_at
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "possettle.cli.main", "terminal", *args, "--dir", str(directory),
        "--json", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def host_view(url: str, terminals: list[Path]) -> Comparison:
    engine = create_engine_for(url)
    try:
        return compare(engine, terminals)
    finally:
        engine.dispose()


def forget_at_host(url: str, tid: str, stan: int) -> None:
    """Fault: the host's ledger lost one entry (restored from an older backup)."""
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.delete(ledger_entries).where(
                    ledger_entries.c.tid == tid, ledger_entries.c.stan == f"{stan:06d}"
                )
            )
    finally:
        engine.dispose()


def host_batch(url: str, tid: str, batch: int) -> tuple[str, int]:
    """(status, number of uploaded records) of one batch at the host."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            status = conn.execute(
                sa.select(batches.c.status).where(batches.c.tid == tid, batches.c.batch == batch)
            ).scalar_one()
            uploads = conn.execute(
                sa.select(sa.func.count())
                .select_from(upload_items)
                .where(upload_items.c.tid == tid, upload_items.c.batch == batch)
            ).scalar_one()
        return str(status), int(uploads)
    finally:
        engine.dispose()

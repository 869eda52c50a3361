"""Real host processes for the upstream-reversal fault tests: start, crash, kill, read back.

The host runs as ``python -m possettle.cli.main host serve`` with short issuer and reversal
budgets, JSON log lines in a file per start, and optionally ``POSSETTLE_HOST_CRASH_AT``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from possettle.host.reversals.store import ReversalRow, list_reversals
from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import ledger_entries
from possettle.link.client import Link
from possettle.sim.errors import HostProcessError
from possettle.sim.host_process import HostProcess, free_port
from tests.host.harness import MID, TID, TMK

#: short budgets so that a crash chain runs in seconds (the lease covers a restart)
FAST = [
    "--issuer-timeout", "0.5",
    "--reversal-timeout", "0.5",
    "--reversal-retry", "0.2",
    "--reversal-retry-max", "0.5",
    "--reversal-lease", "1.0",
    "--reversal-poll", "0.1",
]  # fmt: skip
START_WITHIN = 60.0  # a loaded CI machine may take long to import and migrate
DIE_WITHIN = 30.0


@dataclass
class HostRun:
    """One host's successive processes on one ledger and port, a log file per start."""

    url: str
    key_file: Path
    issuer: str
    logs: Path
    port: int = field(default_factory=free_port)
    starts: int = 0
    process: HostProcess | None = None

    async def start(self, crash_at: str | None = None) -> None:
        env = dict(os.environ)
        env.pop("POSSETTLE_HOST_CRASH_AT", None)
        if crash_at is not None:
            env["POSSETTLE_HOST_CRASH_AT"] = crash_at
        self.starts += 1
        log = self.logs / f"host-{self.port}-{self.starts}.log"
        self.process = HostProcess(
            self.url, self.key_file, self.port, log, self.issuer,
            args=FAST, start_timeout=START_WITHIN,
        )  # fmt: skip
        try:
            await self.process.start(env=env, may_exit=crash_at is not None)
        except HostProcessError as exc:
            raise AssertionError(str(exc)) from exc

    async def died_by_sigkill(self) -> bool:
        """Wait for the process to end on its own (a crash point); True if SIGKILL ended it."""
        assert self.process is not None
        return await self.process.wait(DIE_WITHIN) == -signal.SIGKILL

    async def kill(self) -> None:
        if self.process is not None:
            await self.process.kill()

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()

    def link(self) -> Link:
        return Link("127.0.0.1", self.port, TID, MID, TMK, timeout=10.0)

    def acknowledgements(self) -> Counter[str]:
        """RRNs by how many times any process of this host logged them acknowledged."""
        return acknowledgements(self.logs, f"host-{self.port}-*.log")


def acknowledgements(logs: Path, pattern: str = "host-*.log") -> Counter[str]:
    """RRNs by how many "upstream reversal acknowledged" events the matching logs hold."""
    seen: Counter[str] = Counter()
    for path in logs.glob(pattern):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            if event.get("event") == "upstream reversal acknowledged":
                seen[event["rrn"]] += 1
    return seen


def _read_rows(url: str) -> list[ReversalRow]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return list_reversals(conn)
    finally:
        engine.dispose()


async def reversal_rows(url: str) -> list[ReversalRow]:
    return await asyncio.to_thread(_read_rows, url)


def _entry_count(url: str) -> int:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(ledger_entries)).scalar_one()
            )
    finally:
        engine.dispose()


async def entry_count(url: str) -> int:
    return await asyncio.to_thread(_entry_count, url)


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, within: float = 60.0, every: float = 0.05
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"still not true after {within}s: {what}")
        await asyncio.sleep(every)

"""Faults for the doctor's scenarios, each the real thing on real sockets and files.

* :func:`blackhole`: a port whose SYNs go unanswered (a listening socket whose accept queue is
  full), so a connect times out the way it does when the cable or Wi-Fi is down;
* :func:`host_at`: a real host on a fixed port, so it can be stopped and started again;
* :func:`relay`: the adversity proxy in front of a host;
* :func:`register_fleet`: several terminals, each with its region, and TMKs that may differ;
* ledger and journal edits: host policy, the host's batch, a ledger rule that refuses a
  settlement, the journal meta, broken journal pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from possettle.crypto.keys import Key
from possettle.doctor.model import Diagnosis, Report
from possettle.host import registry
from possettle.host.config import HostConfig
from possettle.host.server import HostServer, serve
from possettle.ledger.database import Database
from possettle.ledger.engine import create_engine_for
from possettle.ledger.queries import set_policy
from possettle.ledger.schema import terminals
from possettle.sim.proxy import AdversityProxy, Faults
from possettle.terminal.config import JOURNAL_FILE, TerminalConfig
from tests.host.harness import KEYS, MID, RunningHost

DEFAULT_TIMEOUT = 3.0  # tests.terminal.harness.make_terminal's
FAST = 0.5  # seconds: the terminal's timeout while silence is the fault (else the default)
SLOW_HOST = 15.0  # seconds: the terminal's timeout where the host's error path is slow


@contextlib.contextmanager
def blackhole() -> Iterator[int]:
    """A port that never completes a connect: the link drops packets on the floor."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    try:
        for _ in range(3):  # fill the accept queue; later SYNs are dropped
            c = socket.socket()
            c.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                c.connect(("127.0.0.1", port))
            fillers.append(c)
        yield port
    finally:
        for c in fillers:
            c.close()
        server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def host_at(
    url: str, key_file: Path, port: int, *, issuer: str = "sim"
) -> AsyncIterator[RunningHost]:
    """A real host on ``port`` (``tests.host.harness.running_host`` picks a fresh one)."""
    cfg = HostConfig(db_url=url, port=port, issuer=issuer, key_file=key_file)
    stop = asyncio.Event()
    ready: asyncio.Future[HostServer] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(cfg, stop=stop, ready=ready.set_result))
    done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    host = RunningHost(ready.result(), cfg, stop, task)
    try:
        yield host
    finally:
        stop.set()
        await task


@contextlib.asynccontextmanager
async def relay(port: int, seed: int = 7) -> AsyncIterator[AdversityProxy]:
    """The adversity proxy in front of the host on ``port``, passing everything at first."""
    async with AdversityProxy(
        "127.0.0.1", 0, "127.0.0.1", port, Faults(), random.Random(seed)
    ) as proxy:
        yield proxy


@dataclass(frozen=True)
class Member:
    tid: str
    region: str = ""
    tmk: str = KEYS["tmk"]


async def register_fleet(url: str, key_file: Path, members: list[Member]) -> None:
    """One merchant with ``members`` at the host, each with its region and TMK."""
    db = Database.open(url, key_file=key_file)
    await db.start()
    try:

        def op(conn: sa.Connection) -> None:
            registry.add_merchant(conn, MID, "Test shop")
            for m in members:
                registry.add_terminal(
                    conn, db.vault, m.tid, MID, Key.from_hex(m.tmk), region=m.region or None
                )

        await db.write(op)
    finally:
        await db.close()


def _ledger(url: str) -> sa.Engine:
    return create_engine_for(url)


def host_policy(url: str, name: str, value: str) -> None:
    engine = _ledger(url)
    try:
        with engine.begin() as conn:
            set_policy(conn, name, value)
    finally:
        engine.dispose()


def host_current_batch(url: str, tid: str, batch: int | None = None) -> int:
    """The host's current batch for ``tid``; with ``batch``, set it first (an operator edit)."""
    engine = _ledger(url)
    try:
        with engine.begin() as conn:
            if batch is not None:
                conn.execute(
                    sa.update(terminals).where(terminals.c.tid == tid).values(current_batch=batch)
                )
            value = conn.execute(
                sa.select(terminals.c.current_batch).where(terminals.c.tid == tid)
            ).scalar_one()
        return int(value)
    finally:
        engine.dispose()


def set_timeout(term: Path, seconds: float = DEFAULT_TIMEOUT) -> None:
    """The terminal's read timeout: short while a fault makes the host silent (the test need
    not wait), the default otherwise (a busy test machine must not look like a bad line)."""
    TerminalConfig.load(term).with_changes(timeout=seconds).save(term)


def journal_meta(term: Path, key: str, value: str) -> None:
    """Edit one meta row of a (closed) terminal journal."""
    conn = sqlite3.connect(term / JOURNAL_FILE)
    try:
        with conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
    finally:
        conn.close()


def corrupt(term: Path) -> None:
    """Overwrite the journal's pages after the header with noise (a failing flash)."""
    path = term / JOURNAL_FILE
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    data = bytearray(path.read_bytes())
    noise = random.Random(3).randbytes(len(data) - 4096)
    data[4096:] = noise
    path.write_bytes(bytes(data))


def freeze_settlement_at_the_acquirer(url: str, tid: str) -> None:
    """Fault: the acquirer's back office froze this merchant's settlements (a ledger rule);
    the host cannot book the 0500 and answers 96, system malfunction — nothing on the
    terminal, the line or the host's health says why."""
    path = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    try:
        conn.execute(
            "CREATE TRIGGER frozen BEFORE UPDATE OF status ON batches"
            f" WHEN NEW.tid = '{tid}' AND NEW.status = 'settling'"
            " BEGIN SELECT RAISE(ABORT, 'account frozen'); END"
        )
        conn.commit()
    finally:
        conn.close()


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, object]:
        return json.loads(self.stdout)  # type: ignore[no-any-return]


async def doctor_cli(*args: str) -> Ran:
    """``possettle doctor ARGS`` in its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSSETTLE_CRASH")}
    env["COLUMNS"] = "300"  # the console wraps at 80 columns in a pipe; keep lines whole
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "possettle.cli.main", "doctor", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())


def expect_top(report: Report, cause: str, group: str, step: str | None = None) -> Diagnosis:
    """The report's first diagnosis is ``cause`` (of ``group``, at ``step`` when given)."""
    data = report.as_dict()
    assert report.diagnoses, data
    top = report.diagnoses[0]
    assert top.cause.id == cause, [(d.cause.id, round(d.score, 3)) for d in report.diagnoses]
    assert top.cause.group.value == group
    if step is not None:
        assert top.step == step, top.step
    assert 0.0 < top.score <= 1.0
    assert top.evidence, data
    return top


def evidence(d: Diagnosis) -> dict[str, list[object]]:
    """The diagnosis's evidence as key → values."""
    out: dict[str, list[object]] = {}
    for e in d.evidence:
        out.setdefault(e.key, []).append(e.value)
    return out

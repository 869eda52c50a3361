"""The host under fuzz: a fresh SQLite ledger set up with the CLI, ``possettle host serve``
in its own process with its log in a file, and what a run measures of it (memory, ledger).

The ledger is made exactly as an operator would (``host init``, ``merchant add``, ``terminal
add`` with the golden terminal's TMK), so the fuzzed frames — which carry the golden TID and
MID — reach a real, registered terminal: sign-ons, settlements and MAC checks all run.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from possettle.crypto.keys import Key
from possettle.iso8583.fields import HalfTotals, SettlementTotals
from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import metadata
from possettle.link import requests
from possettle.link.client import Link
from possettle.sim.host_process import HostProcess, free_port

CLI_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class Terminal:
    tid: str
    mid: str
    tmk_hex: str


def _cli(*args: str) -> None:
    cmd = [sys.executable, "-m", "possettle.cli.main", *args]
    done = subprocess.run(  # noqa: S603 - our own CLI, arguments from our code
        cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"possettle {' '.join(args[:3])} failed: {done.stderr.strip()}")


class FuzzTarget:
    """One host process on a fresh ledger in ``workdir``."""

    def __init__(self, workdir: Path, terminal: Terminal) -> None:
        self.workdir, self.terminal = workdir, terminal
        self.db_path = workdir / "ledger.db"
        self.db_url = f"sqlite:///{self.db_path}"
        self.key_file = workdir / "vault.key"
        self.log_path = workdir / "host.log"
        self.port = free_port()
        self.process = HostProcess(self.db_url, self.key_file, self.port, self.log_path)

    def prepare(self) -> None:
        """``host init``, ``merchant add``, ``terminal add`` — as an operator would."""
        db = ("--db", self.db_url)
        t = self.terminal
        _cli("host", "init", *db, "--key-file", str(self.key_file))
        _cli("host", "merchant", "add", "--mid", t.mid, "--name", "Fuzz shop", *db)
        _cli(
            "host",
            "terminal",
            "add",
            "--tid",
            t.tid,
            "--mid",
            t.mid,
            "--tmk",
            t.tmk_hex,
            *db,
            "--key-file",
            str(self.key_file),
        )

    async def start(self) -> None:
        await self.process.start()

    async def stop(self) -> None:
        await self.process.stop()

    @property
    def alive(self) -> bool:
        return self.process.pid is not None and self.process.returncode is None

    def rss(self) -> int:
        """The host process's resident memory in bytes (0 when it is not running)."""
        pid = self.process.pid
        if pid is None:
            return 0
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    @property
    def ledger_files(self) -> list[Path]:
        """The ledger and its WAL (and shared-memory index), whichever exist now."""
        base = str(self.db_path)
        return [Path(base + suffix) for suffix in ("", "-wal", "-shm")]

    def ledger_bytes(self) -> dict[str, int]:
        return {p.name: p.stat().st_size for p in self.ledger_files if p.exists()}

    def rows(self) -> dict[str, int]:
        """Rows per ledger table (read while the host runs: WAL lets a reader in)."""
        engine = create_engine_for(self.db_url)
        try:
            with engine.connect() as conn:
                return {
                    t.name: int(
                        conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    )
                    for t in metadata.sorted_tables
                }
        finally:
            engine.dispose()

    def cells(self) -> dict[str, list[tuple[object, ...]]]:
        """Every row of every ledger table (for :func:`~possettle.sim.fuzz.leaks.scan_cells`)."""
        engine = create_engine_for(self.db_url)
        try:
            with engine.connect() as conn:
                return {
                    t.name: [tuple(r) for r in conn.execute(sa.select(t))]
                    for t in metadata.sorted_tables
                }
        finally:
            engine.dispose()

    def log_errors(self) -> list[str]:
        """Log lines of level error or critical, and tracebacks: a request the host failed."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        bad = ('"level": "error"', '"level": "critical"', "Traceback")
        return [line for line in text.splitlines() if any(b in line for b in bad)]

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True, slots=True)
class DayCheck:
    """A correct sign-on, sale and settlement: the response codes, and whether it balanced."""

    sign_on: str
    sale: str
    settlement: str
    balanced: bool

    @property
    def ok(self) -> bool:
        return (self.sign_on, self.sale, self.settlement) == ("00", "00", "00") and self.balanced


async def correct_day(port: int, terminal: Terminal, pan: str, pin: str) -> DayCheck:
    """Sign on, sell 1.00 with a PIN, settle that one sale: what a terminal does after a storm."""
    link = Link(
        "127.0.0.1", port, terminal.tid, terminal.mid, Key.from_hex(terminal.tmk_hex), timeout=30.0
    )
    try:
        signed = await link.sign_on()
        if signed.code != "00":
            return DayCheck(signed.code, "", "", balanced=False)
        sale = await link.send(
            requests.sale(
                terminal.tid,
                terminal.mid,
                link.next_stan(),
                link.batch,
                pan=pan,
                amount=100,
                expiry="3012",
                pin=pin,
                pik=link.pik,
            )
        )
        totals = SettlementTotals(HalfTotals(100, 1, 0, 0), HalfTotals())
        settle = await link.send(
            requests.settlement(terminal.tid, terminal.mid, link.next_stan(), link.batch, totals)
        )
        back = settle.reply.get("48", "")
        balanced = len(back) == 62 and SettlementTotals.parse(back).balanced
        return DayCheck(signed.code, sale.code, settle.code, balanced=balanced)
    finally:
        await link.close()

"""Host throughput and latency: N terminals on loopback against a SQLite host, durable commits.

    python3 scripts/dev.py bench host [--n 1,16,64,256] [--seconds 5] [--json] [--profile]

What it does, in one run:

1. machine facts, and two ceilings measured here and now: ``fdatasync`` of 4 KiB appends in
   the ledger's directory (what one durable group commit costs at least) and the codec-only
   ceiling (encode a sale + MAC, then decode + verify the MAC: what each side of one sale
   spends on PS-CUP/1 per request, on one core, with no I/O);
2. a fresh ledger in a temporary directory (WAL, ``synchronous=FULL``, group commit: the
   host's defaults, unchanged), one merchant and 256 terminals registered;
3. the host in a SEPARATE process (this file with ``--serve-host``: the same ``serve()`` and
   ``HostConfig`` that ``possettle host serve`` runs, plus a SIGUSR1 handler that writes the
   writer's group-commit counters and the process CPU time to a file);
4. for each N: N terminals signed on with :class:`~possettle.link.client.Link`, then each
   sending sales over its own :class:`LeanLink` connection (real frames, real MACs checked
   both ways, one sale in flight at a time, as a real terminal) for ``--seconds`` after a
   short warm-up; per-request latency with ``time.perf_counter``;
5. a table: sales/s, p50/p99/max latency, approved, declined, errors, commits/s and the
   average group size, and each process's CPU (100 % = one core) and CPU milliseconds per
   sale (the figure that stays comparable on a busy machine); then the ledger is counted
   after the host stopped: every approved reply must be a sale entry on disk.

``--profile`` runs the host under py-spy (``pip install py-spy`` into the venv) for one N (64
unless ``--n`` says otherwise) and prints where the host's samples go, per thread and by
category: ``--profile gil`` (the default) samples only the thread holding the GIL, i.e. where
the host's Python CPU goes; ``--profile wall`` samples every thread, idle or not (time spent
in sqlite's C code or waiting to get the GIL back shows there). Without py-spy it falls back
to cProfile of the host's event-loop thread only. ``--host-switch-interval`` (diagnostic only)
sets ``sys.setswitchinterval`` in the host process.

Everything is bounded: loopback only, fixed durations, the host is terminated (SIGTERM, then
SIGKILL after a timeout) and the temporary directory removed, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import cProfile
import json
import math
import os
import platform
import pstats
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possettle.crypto.keys import Key, generate_key
from possettle.crypto.mac import unionpay_ecb_mac, verify_mac
from possettle.host import registry
from possettle.host.config import HostConfig
from possettle.host.server import HostServer, serve
from possettle.iso8583 import codec
from possettle.iso8583.framing import Frame, FrameReader
from possettle.ledger.database import Database
from possettle.ledger.kinds import EntryKind
from possettle.ledger.schema import ledger_entries
from possettle.link import requests as link_requests
from possettle.link.client import Link, LinkError
from possettle.link.failure import LinkFailure
from possettle.logs import configure_logging

MID = "898100012340001"
TERMINALS = 256
TIDS = [f"B{i:07d}" for i in range(1, TERMINALS + 1)]
DEFAULT_NS = (1, 16, 64, 256)
PIN = "123456"  # the simulator's default PIN
WARMUP = 0.5  # seconds of each run not measured
HOST_START_TIMEOUT = 60.0
HOST_STOP_TIMEOUT = 20.0
PYSPY_RATE = 250


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def luhn_complete(stem: str) -> str:
    """``stem`` plus the Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(stem + "0")):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return stem + str((10 - total % 10) % 10)


# 32 CUP cards (BIN 622202), the simulator's default balance covers every run many times over.
PANS = ["6222021234567890128"] + [luhn_complete(f"622202{i:012d}") for i in range(1, 32)]


# ----------------------------------------------------------------------------- machine


def machine_info(ledger_dir: Path) -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    fs = "?"
    with contextlib.suppress(OSError):
        best = ""
        target = str(ledger_dir.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            mount, kind = parts[1], parts[2]
            inside = target == mount or target.startswith(mount.rstrip("/") + "/")
            if inside and len(mount) >= len(best):
                best, fs = mount, f"{kind} ({parts[0]} on {mount})"
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
        # other work on the machine skews sales/s; CPU ms per sale much less
        "loadavg_1m_at_start": os.getloadavg()[0],
        "ledger_dir": str(ledger_dir),
        "ledger_fs": fs,
    }


def fsync_ceiling(directory: Path, seconds: float) -> dict[str, float]:
    """Append 4 KiB + fdatasync in a loop: the floor under one durable commit."""
    path = directory / "fsync-probe.bin"
    block = os.urandom(4096)
    lat: list[float] = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        end = time.perf_counter() + seconds
        while (t0 := time.perf_counter()) < end:
            os.write(fd, block)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    lat.sort()
    return {
        "fsyncs_per_s": len(lat) / sum(lat),
        "p50_ms": pct(lat, 50) * 1e3,
        "p99_ms": pct(lat, 99) * 1e3,
    }


# ----------------------------------------------------------------------------- codec ceiling


def codec_ceiling(seconds: float) -> dict[str, float]:
    """Encode a sale frame with MAC, then parse the frame, decode and verify the MAC."""
    mak = generate_key(8)
    link = Link("127.0.0.1", 9, TIDS[0], MID, generate_key(16))
    link.mak = mak
    rng = random.Random(1)
    requests = [
        link_requests.sale(
            TIDS[0],
            MID,
            stan,
            1,
            pan=rng.choice(PANS),
            amount=rng.randint(100, 5000),
            expiry="3012",
        )
        for stan in range(1, 1001)
    ]

    def one(fields: dict[str, str]) -> None:
        raw = link.encode(fields)
        frame = FrameReader().feed(raw)[0]
        decoded = codec.decode(frame.body)
        if not verify_mac(mak, codec.mac_input(frame.body), bytes.fromhex(decoded["64"])):
            raise AssertionError("MAC did not verify")

    def rate(fn: Any, items: list[Any], budget: float) -> float:
        count, start = 0, time.perf_counter()
        end = start + budget
        while time.perf_counter() < end:
            for item in items[:100]:
                fn(item)
            count += 100
        return count / (time.perf_counter() - start)

    bodies = [codec.encode({**f, "64": codec.MAC_PLACEHOLDER}) for f in requests[:100]]
    rate(one, requests, 0.2)  # warm
    full = rate(one, requests, seconds)
    enc = rate(lambda f: codec.encode({**f, "64": codec.MAC_PLACEHOLDER}), requests, seconds / 4)
    mac = rate(lambda b: unionpay_ecb_mac(mak, codec.mac_input(b)), bodies, seconds / 4)
    dec = rate(codec.decode, bodies, seconds / 4)
    return {
        "encode_mac_decode_verify_per_s": full,
        "encode_only_per_s": enc,
        "mac_only_per_s": mac,
        "decode_only_per_s": dec,
    }


# ----------------------------------------------------------------------------- host process


def serve_host(args: argparse.Namespace) -> None:
    """The host side (run by the bench as a subprocess): ``serve()`` plus a stats dump."""

    configure_logging()
    if args.host_switch_interval:
        sys.setswitchinterval(args.host_switch_interval)
    stats_path = Path(args.stats)
    seq = 0

    def dump(server: HostServer) -> None:
        nonlocal seq
        seq += 1
        w = server.db.writer.stats
        t = os.times()
        data = {
            "seq": seq,
            "pid": os.getpid(),
            "time": time.perf_counter(),
            "cpu": t.user + t.system,
            "groups": w.groups,
            "ops": w.ops,
            "failed_groups": w.failed_groups,
            "largest_group": w.largest_group,
            **server.stats,
        }
        tmp = stats_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(stats_path)

    def ready(server: HostServer) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, dump, server)
        dump(server)

    # The load generator opens its connections before it sends on them (up to 256, from
    # one address): neither the first-frame timeout nor the per-address cap may cut them.
    config = HostConfig(
        db_url=args.db,
        port=args.port,
        key_file=Path(args.key_file),
        idle_timeout=600.0,
        first_frame_timeout=600.0,
        max_connections_per_address=1024,
    )
    if args.cprofile:
        prof = cProfile.Profile()
        prof.enable()
        try:
            asyncio.run(serve(config, ready=ready))
        finally:
            prof.disable()
            prof.dump_stats(args.cprofile)
    else:
        asyncio.run(serve(config, ready=ready))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Host:
    proc: subprocess.Popen[bytes]
    port: int
    stats_path: Path
    log_path: Path
    pid: int = 0  # the host's own pid (differs from proc.pid under py-spy)

    def snapshot(self) -> dict[str, Any]:
        return dict(json.loads(self.stats_path.read_text()))

    async def fresh_snapshot(self, wait: float = 2.0) -> dict[str, Any] | None:
        """Ask the host (SIGUSR1) for current counters; None if it does not answer."""
        before = self.snapshot()["seq"]
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGUSR1)
        end = time.perf_counter() + wait
        while time.perf_counter() < end:
            with contextlib.suppress(OSError, ValueError):
                snap = self.snapshot()
                if snap["seq"] > before:
                    return snap
            await asyncio.sleep(0.002)
        return None

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def start_host(
    workdir: Path,
    url: str,
    key_file: Path,
    *,
    pyspy: str | None,
    profile_mode: str,
    cprofile: Path | None,
    switch_interval: float | None,
) -> Host:
    port = free_port()
    stats_path = workdir / "host-stats.json"
    log_path = workdir / "host.log"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve-host",
        "--db",
        url,
        "--key-file",
        str(key_file),
        "--port",
        str(port),
        "--stats",
        str(stats_path),
    ]
    if cprofile is not None:
        cmd += ["--cprofile", str(cprofile)]
    if switch_interval:
        cmd += ["--host-switch-interval", str(switch_interval)]
    if pyspy is not None:
        raw = workdir / "host-pyspy.txt"
        mode = "--gil" if profile_mode == "gil" else "--idle"
        flags = [mode, "--threads", "--full-filenames", "--nonblocking", "--format", "raw"]
        cmd = [pyspy, "record", *flags, "--rate", str(PYSPY_RATE), "-o", str(raw), "--", *cmd]
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    host = Host(proc, port, stats_path, log_path)
    deadline = time.monotonic() + HOST_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"host exited with {proc.returncode}:\n{host.log_tail()}")
        if stats_path.exists():
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                host.pid = int(host.snapshot()["pid"])
                return host
        time.sleep(0.05)
    stop_host(host)
    raise RuntimeError(f"host did not accept on port {port} within {HOST_START_TIMEOUT}s")


def stop_host(host: Host) -> int | None:
    """SIGTERM (graceful: in-flight requests finish, writer drains), SIGKILL after a timeout."""
    targets = [host.pid] if host.pid and host.pid != host.proc.pid else []
    if host.proc.poll() is None:
        for pid in targets or [host.proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            return host.proc.wait(HOST_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            say("host did not stop after SIGTERM: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(host.proc.pid, signal.SIGKILL)
            return host.proc.wait(10)
    return host.proc.returncode


# ----------------------------------------------------------------------------- ledger


async def register(url: str, key_file: Path) -> dict[str, Key]:
    tmks = {tid: generate_key(16) for tid in TIDS}
    db = Database.open(url, key_file=key_file)
    await db.start()
    try:

        def op(conn: Any) -> None:
            registry.add_merchant(conn, MID, "Bench shop")
            for tid, tmk in tmks.items():
                registry.add_terminal(conn, db.vault, tid, MID, tmk)

        await db.write(op)
    finally:
        await db.close()
    return tmks


async def count_sales(url: str, key_file: Path) -> int:
    db = Database.open(url, key_file=key_file, migrate=False)
    try:
        query = (
            sa.select(sa.func.count())
            .select_from(ledger_entries)
            .where(ledger_entries.c.kind == EntryKind.SALE.value)
        )
        return int(await db.read(lambda c: c.execute(query).scalar_one()))
    finally:
        await db.close()


# ----------------------------------------------------------------------------- load


@dataclass
class Run:
    n: int
    pin: bool
    seconds: float
    sales_per_s: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    approved: int = 0
    declined: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    commits_per_s: float | None = None
    avg_group: float | None = None
    largest_group: int | None = None
    host_cpu_pct: float | None = None
    loadgen_cpu_pct: float = 0.0
    refused_connections: int | None = None

    @property
    def host_ms_per_sale(self) -> float | None:
        if self.host_cpu_pct is None or not self.sales_per_s:
            return None
        return 10 * self.host_cpu_pct / self.sales_per_s

    @property
    def gen_ms_per_sale(self) -> float | None:
        return 10 * self.loadgen_cpu_pct / self.sales_per_s if self.sales_per_s else None


def pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    idx = min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[idx]


class LeanLink(asyncio.Protocol):
    """One terminal's connection in the load generator, lean but real.

    Every request is a real frame with a real MAC, and every approved reply's MAC is
    verified; one request is in flight per connection, as on a terminal. What it leaves out
    is the per-request machinery of :class:`~possettle.link.client.Link` (a stream read
    wrapped in ``asyncio.wait_for``, i.e. a new task per read): replies are delivered by an
    :class:`asyncio.Protocol` callback and the timeout is one timer handle.
    """

    def __init__(self, link: Link) -> None:
        self.link = link
        self.frames = FrameReader()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Frame] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        for frame in self.frames.feed(data):
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(frame)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(LinkError(f"connection lost: {exc}", LinkFailure.RESET))

    async def send(self, fields: dict[str, str]) -> str:
        """Send one request; the reply's response code (MAC verified when approved)."""
        if self.transport is None:
            raise LinkError("not connected")
        loop = asyncio.get_running_loop()
        self.waiter = waiter = loop.create_future()
        self.transport.write(self.link.encode(fields))
        timer = loop.call_later(self.link.timeout, _expire, waiter)
        try:
            frame = await waiter
        finally:
            timer.cancel()
        reply = codec.decode(frame.body)
        code = str(reply.get("39", ""))
        mak = self.link.mak
        if code == "00" and mak is not None:
            mac = bytes.fromhex(reply.get("64", "00"))
            if not verify_mac(mak, codec.mac_input(frame.body), mac):
                raise LinkError(f"reply to STAN {fields.get('11')} has a bad MAC")
        return code


def _expire(waiter: asyncio.Future[Frame]) -> None:
    if not waiter.done():
        waiter.set_exception(LinkError("no reply in time", LinkFailure.LOST_REPLY))


class Fleet:
    """Up to 256 terminals: each Link keeps its STAN counter across runs (no STAN reuse).

    Terminals sign on with :class:`Link`; sales then go over a :class:`LeanLink` each.
    """

    def __init__(self, port: int, tmks: dict[str, Key]) -> None:
        self.port = port
        self.links = [Link("127.0.0.1", port, tid, MID, tmks[tid], timeout=30.0) for tid in TIDS]
        self.lean: dict[str, LeanLink] = {}
        self.total_approved = 0

    async def sign_on(self, n: int) -> None:
        loop = asyncio.get_running_loop()
        todo = [link for link in self.links[:n] if link.tid not in self.lean]
        for i in range(0, len(todo), 64):
            chunk = todo[i : i + 64]
            await asyncio.gather(*(link.connect() for link in chunk))
            exchanges = await asyncio.gather(*(link.sign_on() for link in chunk))
            for link, ex in zip(chunk, exchanges, strict=True):
                if ex.code != "00":
                    raise RuntimeError(f"sign-on of {link.tid} refused with {ex.code}")
                await link.close()
                _, lean = await loop.create_connection(
                    lambda link=link: LeanLink(link),  # type: ignore[misc]
                    "127.0.0.1",
                    self.port,
                )
                self.lean[link.tid] = lean

    async def close(self) -> None:
        for lean in self.lean.values():
            if lean.transport is not None:
                lean.transport.close()
        await asyncio.gather(*(link.close() for link in self.links), return_exceptions=True)


async def run_load(fleet: Fleet, host: Host, n: int, seconds: float, *, pin: bool) -> Run:
    await fleet.sign_on(n)
    run = Run(n=n, pin=pin, seconds=seconds)
    latencies: list[float] = []
    codes: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    t_start = time.perf_counter()
    t_warm, t_end = t_start + WARMUP, t_start + WARMUP + seconds

    async def terminal(link: Link, seed: int) -> None:
        lean = fleet.lean[link.tid]
        rng = random.Random(seed)
        consecutive_errors = 0
        while (t0 := time.perf_counter()) < t_end:
            fields = link_requests.sale(
                link.tid,
                MID,
                link.next_stan(),
                link.batch,
                pan=rng.choice(PANS),
                amount=rng.randint(100, 5000),
                expiry="3012",
                pin=PIN if pin else None,
                pik=link.pik,
            )
            try:
                code = await lean.send(fields)
            except LinkError as exc:
                consecutive_errors += 1
                if t0 >= t_warm:
                    errors[type(exc).__name__] += 1
                if consecutive_errors > 20:
                    return
                await asyncio.sleep(0.05)
                continue
            consecutive_errors = 0
            t1 = time.perf_counter()
            if code == "00":
                fleet.total_approved += 1
            if t_warm <= t1 <= t_end:
                latencies.append(t1 - t0)
                codes[code] += 1

    async def sample(at: float) -> tuple[dict[str, Any] | None, float, float]:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        t = os.times()
        snap = await host.fresh_snapshot()
        return snap, time.perf_counter(), t.user + t.system

    tasks = [asyncio.create_task(terminal(link, i)) for i, link in enumerate(fleet.links[:n])]
    first = await sample(t_warm)
    last = await sample(t_end)
    await asyncio.gather(*tasks)

    latencies.sort()
    run.sales_per_s = len(latencies) / seconds
    run.p50_ms, run.p90_ms = pct(latencies, 50) * 1e3, pct(latencies, 90) * 1e3
    run.p99_ms, run.max_ms = pct(latencies, 99) * 1e3, (latencies[-1] * 1e3 if latencies else 0)
    run.approved = codes.get("00", 0)
    run.declined = sum(codes.values()) - run.approved
    run.codes = dict(codes)
    run.errors = sum(errors.values())
    run.error_kinds = dict(errors)
    (s0, w0, c0), (s1, w1, c1) = first, last
    wall = w1 - w0
    run.loadgen_cpu_pct = 100 * (c1 - c0) / wall
    if s0 is not None and s1 is not None:
        host_wall = s1["time"] - s0["time"]
        groups = s1["groups"] - s0["groups"]
        run.commits_per_s = groups / host_wall
        run.avg_group = (s1["ops"] - s0["ops"]) / groups if groups else None
        run.largest_group = s1["largest_group"]
        run.host_cpu_pct = 100 * (s1["cpu"] - s0["cpu"]) / host_wall
        run.refused_connections = s1["refused"]
    return run


# ----------------------------------------------------------------------------- profile summary

CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("sqlite COMMIT (WAL write + fsync)", ("do_commit (",)),
    # raw.py: the host's hot statements run on the DBAPI cursor (binding + sqlite's C)
    ("sqlite execute (C: statement run)", ("do_execute (", "do_executemany (", "ledger/raw.py")),
    ("sqlite connect/close", ("sqlite3.connect", "do_close (")),
    ("vault (seal/open keys, digests)", ("possettle/crypto/vault.py",)),
    ("MAC / DES / PIN (possettle.crypto)", ("possettle/crypto/", "/cryptography/")),
    ("pyiso8583 encode/decode", ("site-packages/iso8583/",)),
    ("possettle codec/framing/fields", ("possettle/iso8583/",)),
    ("SQLAlchemy (Python: compile, execute, rows, pool)", ("/sqlalchemy/",)),
    ("logging (structlog)", ("/structlog/", "/logging/")),
    ("issuer simulator", ("possettle/upstream/",)),
    ("host handlers/service/ledger (Python)", ("possettle/host/",)),
    ("json / digest", ("/json/",)),
    ("asyncio (loop, streams, futures, to_thread)", ("/asyncio/",)),
    ("threads / executor / queue", ("threading.py", "concurrent/futures", "/queue.py")),
]
IDLE_LEAVES = (
    "select (",  # selectors: event loop waiting
    "wait (/",  # threading.Condition.wait
    "_worker (",  # executor worker blocked on its queue
    "get (",  # queue.SimpleQueue.get in the writer thread
    "_main (",  # writer blocked in queue.get() (C call, leaf is _main)
    "_wait_for_tstate_lock",
)


def thread_group(name: str) -> str:
    if "MainThread" in name:
        return "event loop (main thread)"
    if "ledger-writer" in name:
        return "ledger-writer thread"
    if "asyncio_" in name or "ThreadPoolExecutor" in name:
        return "to_thread workers (reads)"
    return "other threads"


def categorize(frames: list[str]) -> str:
    for frame in reversed(frames):
        for label, needles in CATEGORIES:
            if any(needle in frame for needle in needles):
                return label
    return "other"


def summarize_pyspy(raw_path: Path) -> dict[str, Any]:
    per_thread: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    leaves: collections.Counter[str] = collections.Counter()
    overall: collections.Counter[str] = collections.Counter()
    sql_callers: collections.Counter[str] = collections.Counter()
    total_busy = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        group = thread_group(frames[0])
        body = frames[1:]
        if any("_find_and_load" in f or "upgrade_engine" in f for f in body):
            continue  # start-up: imports and migrations
        leaf = body[-1] if body else "?"
        if not body or any(leaf.startswith(s) or s in leaf for s in IDLE_LEAVES):
            per_thread[group]["(idle: waiting for work)"] += count
            continue
        label = categorize(body)
        per_thread[group][label] += count
        overall[label] += count
        total_busy += count
        if label.startswith("sqlite"):
            ours = [f for f in body if "possettle/" in f and "ledger/db.py" not in f]
            caller = ours[-1] if ours else "?"
            sql_callers[caller.split(" (")[0] + " (" + caller.rsplit("/", 1)[-1]] += count
        short = leaf.split(" (")[0] + " (" + leaf.rsplit("/", 1)[-1]
        leaves[short] += count
    return {
        "threads": {g: dict(c.most_common()) for g, c in per_thread.items()},
        "busy_samples": total_busy,
        "overall": dict(overall.most_common()),
        "sql_callers": sql_callers.most_common(10),
        "top_leaves": leaves.most_common(20),
    }


def print_pyspy(summary: dict[str, Any], mode: str) -> None:
    what = (
        "samples of the thread holding the GIL (= the host's Python CPU)"
        if mode == "gil"
        else "wall-clock samples of every thread, idle included"
    )
    print(f"\nhost profile (py-spy --{mode} at {PYSPY_RATE} Hz: {what}; start-up excluded):")
    busy = summary["busy_samples"] or 1
    print(f"  all threads, busy samples ({busy / PYSPY_RATE:.1f} s):")
    for label, count in summary["overall"].items():
        print(f"    {100 * count / busy:5.1f} %  {label}")
    print("  per thread:")
    for group, counts in sorted(summary["threads"].items()):
        total = sum(counts.values())
        print(f"   {group}: {total / PYSPY_RATE:.1f} s sampled")
        for label, count in counts.items():
            print(f"    {100 * count / total:5.1f} %  {label}")
    print("  sqlite time (execute + commit) by the possettle function issuing it:")
    for caller, count in summary["sql_callers"]:
        print(f"    {100 * count / busy:5.1f} %  {caller}")
    print("  top leaf functions, all threads, busy samples only:")
    for leaf, count in summary["top_leaves"]:
        print(f"    {100 * count / busy:5.1f} %  {leaf}")


def print_cprofile(path: Path) -> None:
    print("\nhost profile (cProfile, event-loop thread only; top 25 by own time):")
    pstats.Stats(str(path), stream=sys.stdout).sort_stats("tottime").print_stats(25)


# ----------------------------------------------------------------------------- main


def _ms(value: float | None) -> str:
    return "?" if value is None else f"{value:.3f}"


def print_table(runs: list[Run]) -> None:
    head = (
        f"{'N':>4} {'PIN':>3} {'sales/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'approved':>8} {'declined':>8} {'errors':>6} {'commits/s':>9} "
        f"{'grp avg':>7} {'host CPU':>8} {'gen CPU':>7} {'host ms/sale':>12} {'gen ms/sale':>11}"
    )
    print(head)
    print("-" * len(head))
    for r in runs:
        commits = f"{r.commits_per_s:9.0f}" if r.commits_per_s is not None else f"{'?':>9}"
        group = f"{r.avg_group:7.1f}" if r.avg_group is not None else f"{'?':>7}"
        host_cpu = f"{r.host_cpu_pct:7.0f}%" if r.host_cpu_pct is not None else f"{'?':>8}"
        print(
            f"{r.n:>4} {'yes' if r.pin else 'no':>3} {r.sales_per_s:8.0f} {r.p50_ms:7.2f} "
            f"{r.p90_ms:7.2f} {r.p99_ms:7.2f} {r.max_ms:7.1f} {r.approved:>8} {r.declined:>8} "
            f"{r.errors:>6} {commits} {group} {host_cpu} {r.loadgen_cpu_pct:6.0f}% "
            f"{_ms(r.host_ms_per_sale):>12} {_ms(r.gen_ms_per_sale):>11}"
        )
    for r in runs:
        if r.declined:
            print(f"  N={r.n}: response codes {r.codes}")
        if r.errors:
            print(f"  N={r.n}: errors {r.error_kinds}")
        if r.refused_connections:
            print(f"  N={r.n}: host refused {r.refused_connections} connection(s) (cap)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--n", default=None, help="comma-separated terminal counts (1,16,64,256)")
    p.add_argument("--seconds", type=float, default=5.0, help="measured seconds per N")
    p.add_argument("--pin-n", type=int, default=64, help="N for one extra run with PIN (0: none)")
    p.add_argument("--codec-seconds", type=float, default=2.0)
    p.add_argument("--dir", default=None, help="parent directory of the temporary ledger")
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    p.add_argument(
        "--profile",
        nargs="?",
        const="gil",
        choices=("gil", "wall"),
        help="profile the host with py-spy: gil (default) or wall; one N only",
    )
    p.add_argument("--host-switch-interval", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    # the host-side entry point (internal)
    p.add_argument("--serve-host", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--key-file", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--stats", help=argparse.SUPPRESS)
    p.add_argument("--cprofile", help=argparse.SUPPRESS)
    return p.parse_args(argv)


async def bench(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    ns = [int(x) for x in args.n.split(",")] if args.n else ([64] if args.profile else DEFAULT_NS)
    if any(not 1 <= n <= TERMINALS for n in ns):
        raise SystemExit(f"--n: each N must be 1..{TERMINALS}")
    result: dict[str, Any] = {"machine": machine_info(workdir)}
    say(f"machine: {result['machine']}")

    say("fdatasync ceiling (4 KiB appends) for 1 s …")
    result["fsync"] = fsync_ceiling(workdir, 1.0)
    say(f"codec-only ceiling for {args.codec_seconds:.1f} s …")
    result["codec"] = codec_ceiling(args.codec_seconds)

    url = f"sqlite:///{workdir / 'ledger.db'}"
    key_file = workdir / "vault.key"
    say(f"ledger {url}: registering 1 merchant and {TERMINALS} terminals …")
    tmks = await register(url, key_file)

    pyspy = None
    cprofile = None
    if args.profile:
        pyspy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which(
            "py-spy"
        )
        if pyspy is None:
            cprofile = workdir / "host.cprofile"
            say("py-spy not found: profiling the host's event-loop thread with cProfile")
    say("starting the host process …")
    host = start_host(
        workdir,
        url,
        key_file,
        pyspy=pyspy,
        profile_mode=args.profile or "",
        cprofile=cprofile,
        switch_interval=args.host_switch_interval,
    )
    say(f"host pid {host.pid} listening on 127.0.0.1:{host.port}")
    runs: list[Run] = []
    fleet = Fleet(host.port, tmks)
    try:
        plan = [(n, False) for n in ns]
        if args.pin_n and not args.profile:
            plan.append((min(args.pin_n, TERMINALS), True))
        for n, pin in plan:
            say(f"N={n}{' with PIN' if pin else ''}: signing on, then {args.seconds:.1f} s …")
            run = await run_load(fleet, host, n, args.seconds, pin=pin)
            runs.append(run)
            say(
                f"N={n}: {run.sales_per_s:.0f} sales/s, p50 {run.p50_ms:.2f} ms, "
                f"p99 {run.p99_ms:.2f} ms, errors {run.errors}"
            )
            if host.proc.poll() is not None:
                say(f"host exited during N={n}:\n{host.log_tail()}")
                break
    finally:
        await fleet.close()
        say("stopping the host (SIGTERM) …")
        final = None
        with contextlib.suppress(Exception):
            final = await host.fresh_snapshot()
        code = stop_host(host)
        say(f"host exited with {code}")
    result["runs"] = [
        {**asdict(r), "host_ms_per_sale": r.host_ms_per_sale, "gen_ms_per_sale": r.gen_ms_per_sale}
        for r in runs
    ]
    if final is not None:
        result["host_final"] = final
    result["approved_total"] = fleet.total_approved
    result["sale_entries_in_ledger"] = await count_sales(url, key_file)
    if pyspy is not None:
        raw = workdir / "host-pyspy.txt"
        if raw.exists():
            result["profile"] = {"mode": args.profile, **summarize_pyspy(raw)}
    if cprofile is not None and cprofile.exists():
        result["cprofile"] = str(cprofile)
    return result


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    m, fs, c = result["machine"], result["fsync"], result["codec"]
    print(
        f"machine: {m['nproc']} CPU(s), {m['cpu']}, Python {m['python']}, SQLite {m['sqlite']}, "
        f"load average {m.get('loadavg_1m_at_start', 0):.2f} at start"
    )
    print(f"ledger: {m['ledger_fs']}, WAL, synchronous=FULL, group commit")
    print(
        f"fdatasync ceiling: {fs['fsyncs_per_s']:.0f}/s "
        f"(p50 {fs['p50_ms']:.2f} ms, p99 {fs['p99_ms']:.2f} ms)"
    )
    print(
        f"codec-only ceiling (one core): {c['encode_mac_decode_verify_per_s']:.0f} "
        f"encode+MAC+decode+verify/s  [encode {c['encode_only_per_s']:.0f}/s, "
        f"MAC {c['mac_only_per_s']:.0f}/s, decode {c['decode_only_per_s']:.0f}/s]"
    )
    print(f"\nsales: {args.seconds:.1f} s per N after {WARMUP} s warm-up; one request in flight")
    print("per terminal; CPU 100% = one core; commits/s and group size from the host's writer\n")
    known = {f.name for f in fields(Run)}
    print_table([Run(**{k: v for k, v in r.items() if k in known}) for r in result["runs"]])
    best = max((r["sales_per_s"] for r in result["runs"]), default=0.0)
    ceiling = c["encode_mac_decode_verify_per_s"]
    print(
        f"\nbest: {best:.0f} sales/s = {100 * best / ceiling:.0f}% of the codec-only ceiling; "
        "target 5000/s"
    )
    print(
        f"ledger check: {result['approved_total']} approved replies, "
        f"{result['sale_entries_in_ledger']} sale entries on disk after the host stopped"
    )
    if "profile" in result:
        print_pyspy(result["profile"], result["profile"]["mode"])
    if "cprofile" in result:
        print_cprofile(Path(result["cprofile"]))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.serve_host:
        serve_host(args)
        return 0
    parent = Path(args.dir) if args.dir else None
    workdir = Path(tempfile.mkdtemp(prefix="possettle-bench-", dir=parent))
    try:
        result = asyncio.run(bench(args, workdir))
        if args.json:
            print(json.dumps(result, indent=2, default=str))
        else:
            report(result, args)
    finally:
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

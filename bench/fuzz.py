"""The mutation fuzzer at scale: a million mutated golden frames against one host process.

    python3 scripts/dev.py bench fuzz [--frames 1000000] [--seed N] [--connections 8]
                                      [--baseline-frames N] [--json] [--keep]

What it does, in one run (see possettle.sim.fuzz; tests/fuzz/test_mutation_storm.py is the
20,000-frame CI version):

1. a fresh SQLite ledger made with the CLI (``host init``, ``merchant add``, ``terminal add``
   with the golden terminal's TMK) and ``possettle host serve`` in its own process, its log in
   a file;
2. a baseline: the unmutated golden frames, cycled, over the same connections (frames/s of
   well-formed traffic, measured here and now);
3. the storm: ``--frames`` frames from the seeded plan (every truncation of every golden
   frame, then one to four mutators each), with progress and the host's memory sampled;
4. a correct sign-on, sale and settlement on the golden terminal;
5. the figures: crashes (the host process gone, or requests it failed — must be 0), replies by
   response code, closes, timeouts, the host's RSS before / peak / after, the ledger's growth
   (bytes of the file and its WAL, rows per table), card numbers found in clear in the log,
   the ledger and its WAL, and the after-storm check.

Exit status 1 if the host crashed, the after-storm check failed or a card number was found.
Loopback only; the host is stopped and the temporary directory removed whatever happens
(``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from possettle.sim.fuzz import Corpus, FuzzDriver, Mutant, Plan, Tally
from possettle.sim.fuzz.leaks import Leak, scan_files
from possettle.sim.fuzz.target import FuzzTarget, Terminal, correct_day

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors" / "vectors.json"


def say(msg: str) -> None:
    print(f"[fuzz] {msg}", file=sys.stderr, flush=True)


def pristine(corpus: Corpus, count: int) -> Iterator[Mutant]:
    frames = itertools.cycle(corpus.frames)
    for i in range(count):
        golden = next(frames)
        yield Mutant(i, golden.name, (), (), golden.raw)


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def leak_summary(leaks: list[Leak]) -> dict[str, int]:
    return dict(Counter(f"{x.where} · {x.kind} · field {x.field}" for x in leaks).most_common())


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    data = json.loads(VECTORS.read_text())
    keys = data["keys"]
    corpus = Corpus.from_vectors(data["vectors"])
    terminal = Terminal(keys["tid"], keys["mid"], keys["tmk"])
    target = FuzzTarget(workdir, terminal)
    say(f"ledger {target.db_url}: host init, merchant add, terminal add …")
    await asyncio.to_thread(target.prepare)
    await target.start()
    say(f"host pid {target.process.pid} on 127.0.0.1:{target.port}, log {target.log_path}")
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "seed": args.seed,
        "frames": args.frames,
        "connections": args.connections,
    }
    rss_peak = 0
    started = time.monotonic()

    def progress(done: int) -> None:
        nonlocal rss_peak
        rss = target.rss()
        rss_peak = max(rss_peak, rss)
        rate = done / max(time.monotonic() - started, 1e-9)
        say(f"  … {done}/{args.frames} frames ({rate:.0f}/s), host RSS {mib(rss)}")

    try:
        result["rss_start"] = target.rss()
        if args.baseline_frames:
            say(f"baseline: {args.baseline_frames} unmutated golden frames …")
            base = FuzzDriver("127.0.0.1", target.port, connections=args.connections)
            tally = await base.run(pristine(corpus, args.baseline_frames))
            result["baseline"] = tally.as_dict()
        rows_before, bytes_before = target.rows(), target.ledger_bytes()
        result["rss_before"] = rss_peak = target.rss()
        plan = Plan(corpus, args.seed)
        say(f"storm: {args.frames} frames, seed {args.seed} ({plan.exhaustive_count} "
            f"truncations first), {args.connections} connections …")  # fmt: skip
        driver = FuzzDriver(
            "127.0.0.1",
            target.port,
            connections=args.connections,
            progress=progress,
            progress_every=max(1000, args.frames // 20),
        )
        started = time.monotonic()
        storm: Tally = await driver.run(plan.mutants(args.frames))
        result["storm"] = storm.as_dict()
        result["rss_after"] = target.rss()
        result["rss_peak"] = max(rss_peak, result["rss_after"])
        result["alive_after_storm"] = target.alive
        rows_after, bytes_after = target.rows(), target.ledger_bytes()
        result["ledger"] = {
            "bytes_before": bytes_before,
            "bytes_after": bytes_after,
            "rows_before": rows_before,
            "rows_after": rows_after,
            "rows_added": {
                t: rows_after[t] - rows_before[t]
                for t in rows_after
                if rows_after[t] != rows_before[t]
            },
        }
        say("after the storm: sign-on, sale, settlement …")
        try:
            day = await correct_day(target.port, terminal, keys["pan"], keys["pin"])
            result["after_storm"] = {
                "sign_on": day.sign_on,
                "sale": day.sale,
                "settlement": day.settlement,
                "balanced": day.balanced,
                "ok": day.ok,
            }
        except Exception as exc:  # the evidence, whatever it is
            result["after_storm"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        say("scanning the log, the ledger and its WAL for card numbers …")
        leaks = scan_files([target.log_path], corpus.pans)
        leaks += scan_files(target.ledger_files, corpus.pans, delimited=True)
        result["card_numbers_in_clear"] = len(leaks)
        result["card_numbers_by_place"] = leak_summary(leaks)
        result["failed_requests_in_log"] = len(target.log_errors())
    finally:
        exit_code = target.process.returncode
        await target.stop()
    result["host_exit_code_during_run"] = exit_code
    result["crashes"] = int(exit_code is not None) + result.get("failed_requests_in_log", 0)
    return result


def report(r: dict[str, Any]) -> None:
    s = r["storm"]
    print(f"seed {r['seed']} · {r['frames']} frames · {r['connections']} connections · "
          f"{r['machine']['cpus']} CPU(s), Python {r['machine']['python']}")  # fmt: skip
    if "baseline" in r:
        b = r["baseline"]
        print(f"baseline (unmutated golden frames): {b['frames']} in {b['seconds']:.1f}s = "
              f"{b['frames_per_s']:.0f} frames/s; replies {b['replies']}")  # fmt: skip
    print(f"storm: {s['frames']} in {s['seconds']:.1f}s = {s['frames_per_s']:.0f} frames/s")
    print(f"crashes: {r['crashes']} (host exit during run: {r['host_exit_code_during_run']}, "
          f"failed requests in log: {r.get('failed_requests_in_log', '?')})")  # fmt: skip
    print(f"replies by code: {s['replies']}")
    print(f"closed by host: {s['closed']} · timeouts: {s['timeouts']} · unreadable replies: "
          f"{s['unreadable_replies']} · connections opened: {s['connections']}")  # fmt: skip
    print(f"host RSS: {mib(r['rss_before'])} before, {mib(r['rss_peak'])} peak, "
          f"{mib(r['rss_after'])} after")  # fmt: skip
    led = r["ledger"]
    print(f"ledger bytes: {led['bytes_before']} -> {led['bytes_after']}")
    print(f"ledger rows added: {led['rows_added']}")
    a = r["after_storm"]
    print(f"after the storm: {a}")
    print(f"card numbers in clear: {r['card_numbers_in_clear']}")
    for place, n in r["card_numbers_by_place"].items():
        print(f"  {n:>7} × {place}")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--frames", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument(
        "--baseline-frames",
        type=int,
        default=None,
        help="unmutated golden frames first (default: 5%% of --frames, at most 50,000)",
    )
    p.add_argument("--dir", default=None, help="parent directory of the temporary ledger")
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)
    if args.baseline_frames is None:
        args.baseline_frames = min(50_000, max(1_000, args.frames // 20))
    workdir = Path(tempfile.mkdtemp(prefix="possettle-fuzz-", dir=args.dir))
    try:
        result = asyncio.run(run(args, workdir))
    finally:
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
    ok = (
        result["crashes"] == 0
        and result["after_storm"].get("ok")
        and result["card_numbers_in_clear"] == 0
    )
    if not ok:
        say(f"FAILED — replay with --seed {args.seed} --frames {args.frames}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""How long the ``possettle`` command takes to answer, beside ``python -c pass``.

    python3 scripts/dev.py bench cli [--runs 5] [--json]

Each command is started as its own process (the console script in the venv), ``--runs``
times, round-robin so that load from elsewhere falls on all of them alike, and the median
wall time is shown, with the median CPU time (user + system; less disturbed by other work
on the machine than the wall time):

* ``python -c pass``: the interpreter alone, the floor;
* ``possettle --help``: the command line and its help, no command group imported;
* ``possettle terminal --help``: the terminal group built;
* ``possettle terminal status --dir D``: a real terminal directory (made with
  ``terminal init``, never signed on) opened, its journal read and closed.

Targets (issue 12): ``possettle --help`` ≤ 0.3 s and ``terminal status`` ≤ 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGETS_S = {"possettle --help": 0.3, "possettle terminal status --dir D": 0.5}


def commands(exe: str, terminal_dir: Path) -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "possettle --help": [exe, "--help"],
        "possettle terminal --help": [exe, "terminal", "--help"],
        "possettle terminal status --dir D": [
            exe,
            "terminal",
            "status",
            "--dir",
            str(terminal_dir),
        ],
    }


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, COLUMNS="100"))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(args: argparse.Namespace) -> dict[str, Any]:
    exe = str(Path(sys.executable).with_name("possettle"))
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as work:
        terminal_dir = Path(work) / "T1"
        subprocess.run(
            [exe, "terminal", "init", "--dir", str(terminal_dir), "--tid", "BENCH001",
             "--mid", "898100012340001", "--tmk", "0123456789ABCDEFFEDCBA9876543210"],
            check=True, capture_output=True,
        )  # fmt: skip
        cmds = commands(exe, terminal_dir)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
        for cmd in cmds.values():  # one warm-up each: the page cache, .pyc files
            timed(cmd)
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                runs[name].append(timed(cmd))
    return {
        "runs": args.runs,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "commands": {
            name: {
                "median_s": round(statistics.median(w for w, _ in times), 3),
                "min_s": round(min(w for w, _ in times), 3),
                "max_s": round(max(w for w, _ in times), 3),
                "cpu_median_s": round(statistics.median(c for _, c in times), 3),
                "target_s": TARGETS_S.get(name),
            }
            for name, times in runs.items()
        },
    }


def show(result: dict[str, Any]) -> None:
    print(
        f"{result['runs']} runs each, Python {result['python']}, {result['machine']}, "
        f"load average {' '.join(map(str, result['load_average']))}"
    )
    width = max(len(name) for name in result["commands"])
    print(f"{'command':<{width}}  median s  min s  max s  CPU s  target")
    for name, c in result["commands"].items():
        target = f"≤ {c['target_s']}" if c["target_s"] else ""
        print(
            f"{name:<{width}}  {c['median_s']:>8.3f}  {c['min_s']:>5.3f}  {c['max_s']:>5.3f}  "
            f"{c['cpu_median_s']:>5.3f}  {target}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (median)")
    parser.add_argument("--json", action="store_true")
    parsed = parser.parse_args()
    if parsed.runs < 1:
        parser.error("--runs must be at least 1")
    outcome = main(parsed)
    if parsed.json:
        print(json.dumps(outcome, indent=2))
    else:
        show(outcome)

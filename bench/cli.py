"""How long the ``possettle`` command takes to answer, beside ``python -c pass``.

    python3 scripts/dev.py bench cli [--runs 5] [--compare REV] [--json]

Each command is started as its own process, ``--runs`` times, round-robin so that load from
elsewhere falls on all of them alike, and the median wall time is shown, with the median CPU
time (user + system; less disturbed by other work on the machine than the wall time):

* ``python -c pass``: the interpreter alone, the floor;
* ``possettle --help``: the command line and its help, no command group imported;
* ``possettle terminal --help``: the terminal group built;
* ``possettle terminal status --dir D``: a real terminal directory (made with
  ``terminal init``, never signed on) opened, its journal read and closed.

``--compare REV`` runs the same commands, in the same rounds, with the ``src/`` of git
revision REV (``git archive``) first on ``sys.path``: the code before a change, measured
beside it on the same machine at the same time.

Targets (issue 12): ``possettle --help`` ≤ 0.3 s and ``terminal status`` ≤ 0.5 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS_S = {"possettle --help": 0.3, "possettle terminal status --dir D": 0.5}
TMK = "0123456789ABCDEFFEDCBA9876543210"
# `possettle ARGS` from the sources on sys.path[0] (the console script runs the same `app`).
RUN_FROM_SOURCE = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'possettle'; "
    "from possettle.cli.main import app; app()"
)


def possettle(src: Path | None) -> list[str]:
    """The command line that runs ``possettle``: this checkout's, or the one in ``src``."""
    if src is None:
        return [str(Path(sys.executable).with_name("possettle"))]
    return [sys.executable, "-c", RUN_FROM_SOURCE, str(src)]


def commands(exe: list[str], terminal_dir: Path) -> dict[str, list[str]]:
    return {
        "possettle --help": [*exe, "--help"],
        "possettle terminal --help": [*exe, "terminal", "--help"],
        "possettle terminal status --dir D": [
            *exe,
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


def source_of(rev: str, into: Path) -> Path:
    """``src/`` of git revision ``rev``, unpacked under ``into``."""
    archive = subprocess.run(
        ["git", "archive", rev, "src"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def summary(times: list[tuple[float, float]], target: float | None) -> dict[str, Any]:
    return {
        "median_s": round(statistics.median(w for w, _ in times), 3),
        "min_s": round(min(w for w, _ in times), 3),
        "max_s": round(max(w for w, _ in times), 3),
        "cpu_median_s": round(statistics.median(c for _, c in times), 3),
        "target_s": target,
    }


def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as work:
        terminal_dir = Path(work) / "T1"
        subprocess.run(
            [*possettle(None), "terminal", "init", "--dir", str(terminal_dir), "--tid",
             "BENCH001", "--mid", "898100012340001", "--tmk", TMK],
            check=True, capture_output=True,
        )  # fmt: skip
        cmds = {"python -c pass": [sys.executable, "-c", "pass"]}
        cmds |= commands(possettle(None), terminal_dir)
        if args.compare:
            old = possettle(source_of(args.compare, Path(work) / "old"))
            cmds |= {
                f"{name} [{args.compare}]": c for name, c in commands(old, terminal_dir).items()
            }
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
        for cmd in cmds.values():  # one warm-up each: the page cache, .pyc files
            timed(cmd)
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                runs[name].append(timed(cmd))
    return {
        "runs": args.runs,
        "compare": args.compare,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "commands": {name: summary(times, TARGETS_S.get(name)) for name, times in runs.items()},
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
    parser.add_argument("--compare", metavar="REV", help="also time the src/ of git revision REV")
    parser.add_argument("--json", action="store_true")
    parsed = parser.parse_args()
    if parsed.runs < 1:
        parser.error("--runs must be at least 1")
    outcome = main(parsed)
    if parsed.json:
        print(json.dumps(outcome, indent=2))
    else:
        show(outcome)

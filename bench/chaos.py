"""The long chaos run: ≥ 200 terminals × ≥ 500 transactions through a faulty business day.

    python3 scripts/dev.py bench chaos [--terminals 200] [--transactions 500] [--seed N] [--json]

Everything ``tests/sim/test_chaos.py`` checks, at fleet scale (see possettle.sim.chaos): a host
process, every terminal behind its own adversity proxy, connections cut mid-sale, the host
killed and restarted, one fault per settlement from the cause catalog (one region dark), the
doctor on every failed settlement, then the money checked. Prints the figures, the doctor's
accuracy per cause, and the seed to replay a failing run. Exit status 1 if anything is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import time

from possettle.logs import configure_logging
from possettle.sim.chaos import run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--transactions", type=int, default=500)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)  # stdout is for the figures
    total = args.terminals * args.transactions
    done = [0]
    started = time.monotonic()

    def tick(n: int) -> None:
        done[0] += n
        if done[0] % max(1, total // 20) == 0:
            rate = done[0] / max(time.monotonic() - started, 1e-9)
            print(f"  … {done[0]}/{total} operations ({rate:.0f}/s)", file=sys.stderr, flush=True)

    print(f"• chaos: {args.terminals} terminals × {args.transactions} transactions, "
          f"seed {args.seed}", file=sys.stderr, flush=True)  # fmt: skip
    result = asyncio.run(run_chaos(args.terminals, args.transactions, args.seed,
                                   regions=args.regions, tick=tick))  # fmt: skip
    data = result.as_dict()
    data["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    ok = result.money_ok and result.all_diagnosed
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(
            f"seed {result.seed} · {result.terminals} terminals · {result.transactions} "
            f"approved transactions in the journals · {result.seconds:.0f}s"
        )
        print(
            f"lost {result.lost} · duplicated {result.duplicated} · reversals applied twice "
            f"{result.reversal_repeats} · unconserved batches {len(result.unconserved)} · "
            f"open batches {len(result.open_batches)} · unrecovered {len(result.unrecovered)}"
        )
        print(f"settlements that failed with no fault injected: {len(result.unexpected_failures)}")
        print(f"{'injected cause':<26} {'right':>5} {'total':>5}  accuracy")
        for cause, row in result.accuracy.items():
            if cause == "none":
                continue
            print(
                f"{cause:<26} {row['right']:>5} {row['total']:>5}  "
                f"{row['right'] / row['total']:.0%}"
            )
        for d in result.diagnoses:
            if d["top"] != d["injected"] and d["injected"] != "none":
                print(
                    f"  ✗ {d['tid']}: injected {d['injected']}, doctor said {d['top']} "
                    f"({d['attempt']})"
                )
    if not ok:
        print(
            f"FAILED — replay with --seed {result.seed} --terminals {args.terminals} "
            f"--transactions {args.transactions}",
            file=sys.stderr,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The long chaos run: ≥ 200 terminals × ≥ 500 transactions through a faulty business day.

    python3 scripts/dev.py bench chaos [--set tuning|holdout|both] [--runs N] [--seed N]
                                       [--terminals 200] [--transactions 500] [--json] [--out F]

Everything ``tests/sim/test_chaos.py`` checks, at fleet scale (see possettle.sim.chaos), for
the scenarios of the tuning set and of the hold-out set (possettle.sim.scenarios; ``--runs``
of each, ``--seed`` for one scenario of its own): a host process, every terminal behind its
own adversity proxy, connections cut mid-sale, the host killed and restarted, at settlement a
fault on most terminals and two on some, one region dark, then every terminal diagnosed in
each pass (full, terminal-only, default-window) and the money checked. Prints the money
figures per run, then per set every injected fault's verdict per cause and per pass (named,
reported recovered, missed; possettle.sim.scoring), the two-fault terminals, the false alarms,
and the misses. Exit status 1 if money or the doctor's read-only promise went wrong (accuracy
is measured, not asserted).
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
from typing import Any

from possettle.logs import configure_logging
from possettle.sim.chaos import ChaosResult, run_chaos
from possettle.sim.scenarios import SETS, Scenario
from possettle.sim.scoring import Case, Figures, Pass, Verdict, figures


def _progress(total: int) -> Any:
    done = [0]
    started = time.monotonic()

    def tick(n: int) -> None:
        done[0] += n
        if done[0] % max(1, total // 10) == 0:
            rate = done[0] / max(time.monotonic() - started, 1e-9)
            print(f"  … {done[0]}/{total} operations ({rate:.0f}/s)", file=sys.stderr, flush=True)

    return tick


def _money(r: ChaosResult) -> str:
    return (
        f"seed {r.seed} · {r.terminals} terminals · {r.transactions} approved transactions · "
        f"{r.seconds:.0f}s · lost {r.lost} · duplicated {r.duplicated} · reversals applied "
        f"twice {r.reversal_repeats} · unconserved {len(r.unconserved)} · open batches "
        f"{len(r.open_batches)} · unrecovered {len(r.unrecovered)} · doctor wrote "
        f"{len(r.doctor_wrote)} · faults not injected {len(r.not_injected)}"
    )


def _cell(named: int, recovered: int, injected: int) -> str:
    acc = (named + recovered) / injected if injected else 0.0
    rec = f"+{recovered}" if recovered else ""
    return f"{named}{rec}/{injected} {acc:>4.0%}".rjust(16)


def render(name: str, fig: Figures, cases: list[Case]) -> str:
    passes = list(Pass)
    lines = [
        f"{name}: {fig.terminals} terminals, {fig.faults} injected faults, "
        f"{fig.unexpected_failures} un-injected settlement failures",
        f"{'injected cause':<26}" + "".join(p.value.rjust(16) for p in passes),
    ]
    causes = sorted({c for p in passes for c in fig.passes[p].by_cause})
    for cause in causes:
        rows = [fig.passes[p].by_cause[cause] for p in passes]
        lines.append(
            f"{cause:<26}" + "".join(_cell(r.named, r.recovered, r.injected) for r in rows)
        )
    alls = [fig.passes[p].all for p in passes]
    lines.append(
        f"{'all faults':<26}" + "".join(_cell(r.named, r.recovered, r.injected) for r in alls)
    )
    pf = [fig.passes[p] for p in passes]
    lines.append(
        f"{'two-fault: both named':<26}"
        + "".join(f"{x.both_named}/{x.two_fault_terminals}".rjust(16) for x in pf)
    )
    lines.append(
        f"{'false alarms':<26}"
        + "".join(f"{x.false_alarms}/{x.healthy_terminals}".rjust(16) for x in pf)
    )
    lines.append("  (named+recovered/injected accuracy; false alarms of terminals with no fault)")
    for case in cases:
        for p in passes:
            missed = [f for f in case.faults if case.verdict(f, p) is Verdict.MISSED]
            alarm = case.false_alarm(p)
            if missed or alarm:
                said = ", ".join(case.seen[p].causes[:3]) or "healthy"
                what = "false alarm" if alarm else f"missed {', '.join(missed)}"
                lines.append(
                    f"  ✗ {p.value:<14} {case.tid} {'+'.join(case.faults) or 'no fault'}: "
                    f"{what}; doctor said {said} ({case.attempt})"
                )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=200)
    parser.add_argument("--transactions", type=int, default=500)
    parser.add_argument("--set", choices=["tuning", "holdout", "both"], default="both")
    parser.add_argument("--runs", type=int, default=1, help="scenarios of each set to run")
    parser.add_argument("--seed", type=int, help="one scenario of this seed instead of the sets")
    parser.add_argument("--json", action="store_true", help="the figures as JSON on stdout")
    parser.add_argument("--out", help="also write the JSON to this file")
    args = parser.parse_args()
    configure_logging(level=logging.WARNING)  # stdout is for the figures
    if args.seed is not None:
        plan = {f"seed {args.seed}": (Scenario(args.seed),)}
    else:
        names = ["tuning", "holdout"] if args.set == "both" else [args.set]
        plan = {n: SETS[n][: args.runs] for n in names}
    out: dict[str, Any] = {
        "terminals": args.terminals,
        "transactions": args.transactions,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "sets": {},
    }
    ok = True
    for name, scenarios in plan.items():
        results = []
        for s in scenarios:
            size = f"{args.terminals} terminals × {args.transactions} transactions"
            print(f"• {name}: seed {s.seed}, {size}", file=sys.stderr, flush=True)
            tick = _progress(args.terminals * args.transactions)
            r = asyncio.run(run_chaos(s, args.terminals, args.transactions, tick=tick))
            results.append(r)
            good = r.money_ok and not r.doctor_wrote
            ok = ok and good
            if not good:
                replay = f"--seed {s.seed} --terminals {args.terminals}"
                print(
                    f"FAILED — replay with {replay} --transactions {args.transactions}",
                    file=sys.stderr,
                )
            if not args.json:
                print(_money(r), flush=True)
        cases = [c for r in results for c in r.cases]
        fig = figures(cases)
        out["sets"][name] = {
            "seeds": [s.seed for s in scenarios],
            "figures": fig.as_dict(),
            "runs": [r.as_dict() for r in results],
        }
        if not args.json:
            seeds = ", ".join(str(s.seed) for s in scenarios)
            print(render(f"{name} (seeds {seeds})", fig, cases), flush=True)
    if args.json:
        print(json.dumps(out, indent=1))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

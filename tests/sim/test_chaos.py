"""The chaos suite in CI: 20 terminals × 50 transactions, faults of every kind, one seed.

It checks the money and that the scoring counts every injected fault — not an accuracy figure
(bench/chaos.py measures that, on the tuning and the hold-out sets). The seed is printed on
failure so the run can be replayed:
``python3 scripts/dev.py bench chaos --terminals 20 --transactions 50 --seed N``.
"""

from __future__ import annotations

import json
from pathlib import Path

from possettle.sim.chaos import run_chaos
from possettle.sim.faults import PAIRS, SPECS
from possettle.sim.scenarios import TUNING
from possettle.sim.scoring import Pass

SCENARIO = TUNING[1]  # the CI run's seed is part of the tuning set


async def test_a_chaotic_day_keeps_the_money_and_scores_every_injected_fault(
    tmp_path: Path,
) -> None:
    result = await run_chaos(SCENARIO, terminals=20, per_terminal=50, workdir=tmp_path)
    report = json.dumps(result.as_dict(), indent=1)
    seed = SCENARIO.seed
    replay = f"seed {seed} (replay: bench/chaos.py --terminals 20 --transactions 50 --seed {seed})"
    assert result.lost == 0 and result.duplicated == 0, f"{replay}\n{report}"
    assert result.reversal_repeats == 0, f"{replay}\n{report}"
    assert result.unconserved == [], f"{replay}\n{report}"
    assert result.open_batches == [] and result.unrecovered == [], f"{replay}\n{report}"
    assert result.transactions >= 20 * 40  # most of the day's work was approved
    # the doctor looked at every terminal three times and wrote nothing
    assert result.doctor_wrote == [], f"{replay}\n{report}"
    assert sorted(c.tid for c in result.cases) == [f"CH{i:06d}" for i in range(20)]
    assert all(set(c.seen) == set(Pass) for c in result.cases)
    # every fault the injectors put in force is scored once in each pass, whether or not its
    # settlement failed: as many verdicts as injections, every cause among them
    scored = sorted(f"{c.tid} {f}" for c in result.cases for f in c.faults)
    assert scored == sorted(result.injected_log) and result.not_injected == []
    figures = result.figures
    for p in Pass:
        row = figures.passes[p].all
        assert row.injected == len(result.injected_log), p
        assert row.named + row.recovered + row.missed == row.injected
    assert {c.split()[1] for c in result.injected_log} == set(SPECS)
    # some terminals carry two faults, only pairs that can coexist
    two = [c.faults for c in result.cases if len(c.faults) == 2]
    assert two, f"{replay}\n{report}"
    assert all(tuple(sorted(f)) in PAIRS for f in two)
    # a region outage is one region's (the fleet puts terminal i in region i mod regions)
    dark = {int(c.tid[2:]) % SCENARIO.regions for c in result.cases if "region.outage" in c.faults}
    assert len(dark) == 1, f"{replay}\n{report}"
    # healthy terminals are there to be falsely alarmed about
    assert figures.passes[Pass.FULL].healthy_terminals >= 1

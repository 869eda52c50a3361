"""The chaos suite in CI: 20 terminals × 50 transactions, faults of every kind, one seed.

The seed is printed on failure so the run can be replayed:
``python3 scripts/dev.py bench chaos --terminals 20 --transactions 50 --seed N``.
"""

from __future__ import annotations

import json
from pathlib import Path

from possettle.sim.chaos import run_chaos
from possettle.sim.faults import SPECS

SEED = 20261126


async def test_a_chaotic_day_keeps_the_money_and_names_every_cause(tmp_path: Path) -> None:
    result = await run_chaos(terminals=20, per_terminal=50, seed=SEED, workdir=tmp_path)
    report = json.dumps(result.as_dict(), indent=1)
    replay = f"seed {SEED} (replay: bench/chaos.py --terminals 20 --transactions 50 --seed {SEED})"
    assert result.lost == 0 and result.duplicated == 0, f"{replay}\n{report}"
    assert result.reversal_repeats == 0, f"{replay}\n{report}"
    assert result.unconserved == [], f"{replay}\n{report}"
    assert result.open_batches == [] and result.unrecovered == [], f"{replay}\n{report}"
    assert result.transactions >= 20 * 40  # most of the day's work was approved
    # every cause of the catalog the suite can inject was injected, and named on top
    assert set(result.accuracy) == set(SPECS), f"{replay}\n{report}"
    wrong = [d for d in result.diagnoses if d["top"] != d["injected"]]
    assert wrong == [], f"{replay}\n{report}"

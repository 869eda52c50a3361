"""The rules file and the built-in engine agree: for each simulated failure, Prometheus (via
``promtool test rules``) fed the metrics we expose fires exactly the alerts the Python
evaluators find.

Counters are given as two samples an hour apart (0, then the total), so ``increase(…[1h])``
at the second sample is the total the ledger holds, which is what the engine's one-hour
window counts when every request is recent.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from possettle.clock import FixedClock
from possettle.ledger.engine import READ_ONLY
from possettle.monitor.evaluate import FLEET, evaluate
from possettle.monitor.metrics import render_metrics
from possettle.monitor.readings import read
from possettle.monitor.ruleset import RULES
from tests.monitor.conftest import Fleet
from tests.monitor.test_alerts import SCENARIOS

RULES_FILE = Path(__file__).resolve().parents[2] / "src/possettle/monitor/rules/possettle.rules.yml"


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url  # the exposition is the same on either backend; one is enough here


def _series(body: bytes) -> list[dict[str, str]]:
    out = []
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            value = int(s.value) if float(s.value).is_integer() else s.value
            # counters rise from 0 over the hour; gauges hold their value
            values = f"0 {value}" if family.type == "counter" else f"{value} {value}"
            out.append({"series": f"{s.name}{{{labels}}}", "values": values})
    return out


def _expected(engine: Engine, clock: FixedClock) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as conn, conn.execution_options(**{READ_ONLY: True}).begin():
        findings = evaluate(read(conn, clock.now()))
    by_rule: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in findings:
        region = "" if f.incident_key == FLEET else f.incident_key.removeprefix("region=")
        labels = {"severity": f.rule.severity.value, "cause": f.rule.cause}
        if region:
            labels["region"] = region
        annotations = {
            "summary": f.rule.summary_en.format(region=region),
            "summary_zh": f.rule.summary_zh.format(region=region),
            "runbook": f.rule.runbook_en,
            "runbook_zh": f.rule.runbook_zh,
        }
        by_rule[f.rule.name].append({"exp_labels": labels, "exp_annotations": annotations})
    return by_rule


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_prometheus_fires_what_the_engine_fires(
    scenario: str, engine: Engine, fleet: Fleet, clock: FixedClock, tmp_path: Path, promtool: str
) -> None:
    SCENARIOS[scenario](fleet)
    expected = _expected(engine, clock)
    assert list(expected) == [scenario]
    test = {
        "rule_files": [str(RULES_FILE)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "60m",
                "input_series": _series(render_metrics(engine, clock=clock)),
                "alert_rule_test": [
                    {"eval_time": "60m", "alertname": r.name, "exp_alerts": expected[r.name]}
                    for r in RULES
                ],
            }
        ],
    }
    path = tmp_path / "test.yml"
    path.write_text(json.dumps(test, ensure_ascii=False, indent=1), encoding="utf-8")
    done = subprocess.run(
        [promtool, "test", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

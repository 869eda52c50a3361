"""The rules file: generated from the rule table, shipped as package data, valid for promtool,
and every rule has a Python evaluator in the built-in engine."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from possettle.doctor.catalog import BY_ID
from possettle.monitor import ruleset
from possettle.monitor.evaluate import EVALUATORS

RULES_FILE = Path(ruleset.__file__).with_name("rules") / "possettle.rules.yml"
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_committed_rules_file_is_generated_from_the_rule_table() -> None:
    assert RULES_FILE.read_text(encoding="utf-8") == ruleset.rules_yaml(), (
        "regenerate: python -m possettle.monitor.ruleset > " + str(RULES_FILE)
    )


def test_rules_file_is_package_data() -> None:
    assert ruleset.packaged_rules_file() == ruleset.rules_yaml()


def test_every_rule_has_an_evaluator_and_a_catalog_cause() -> None:
    assert set(EVALUATORS) == {r.name for r in ruleset.RULES}
    for rule in ruleset.RULES:
        assert rule.cause in BY_ID, rule.name


@pytest.mark.parametrize("rule", ruleset.RULES, ids=lambda r: r.name)
def test_every_rule_has_runbooks_in_english_and_chinese(rule: ruleset.Rule) -> None:
    assert rule.runbook_en and not CJK.search(rule.runbook_en)
    assert CJK.search(rule.runbook_zh) and CJK.search(rule.summary_zh)


def test_the_issue_s_six_alerts_are_all_there() -> None:
    assert [r.cause for r in ruleset.RULES] == [
        "external.undetected", "batch.out_of_balance", "reversal.stuck", "issuer.unavailable",
        "telemetry.missing", "region.outage",
    ]  # fmt: skip


def test_promtool_accepts_the_rules_file(promtool: str) -> None:
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ruleset.RULES)} rules found" in done.stdout

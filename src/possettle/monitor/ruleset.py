"""The alert rules as data: one table read by the Prometheus rules file and the built-in engine.

``rules/possettle.rules.yml`` is generated from :data:`RULES` (``python -m
possettle.monitor.ruleset > src/possettle/monitor/rules/possettle.rules.yml``; a test checks the
committed file matches), and :mod:`.evaluate` holds each rule's Python evaluator keyed by the
same name, using the same thresholds below. So an install with Prometheus and one without
page on the same conditions. Scalars are written as JSON strings, which are valid YAML, so no
YAML library is needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from importlib import resources

from possettle.iso8583.codes import ISSUER_UNAVAILABLE, issuer_down_codes
from possettle.monitor.readings import Thresholds

DEFAULTS = Thresholds()
# Settlement SLO: 99 % of settle requests approved; page at 14.4x burn over the window
# (the classic fast-burn factor: 2 % of a 30-day budget in one hour).
SETTLE_OBJECTIVE = 0.99
BURN_FACTOR = 14.4
BURN_RATIO = round((1 - SETTLE_OBJECTIVE) * BURN_FACTOR, 4)
MIN_SETTLEMENTS = 5
OUT_OF_BALANCE_RATIO = 0.2  # of batches settled in the settled window, per region
MIN_SETTLED_BATCHES = 5
ISSUER_DOWN_RATIO = 0.2  # of authorizations and advices answered with an issuer-down code
MIN_ISSUER_FAILURES = 3
DARK_RATIO = 0.5  # of a region's active terminals silent at once
DARK_MIN_TERMINALS = 3


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert: ``summary_*`` may name ``{region}`` (a label in PromQL, a key in Python)."""

    name: str
    cause: str  # the catalog cause id the incident is filed under by default
    severity: Severity
    expr: str
    summary_en: str
    summary_zh: str
    runbook_en: str
    runbook_zh: str


def _prom(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


_W = _prom(DEFAULTS.request_window)
_SETTLE = 'possettle_transactions_total{kind="settlement"}'
_SETTLE_BAD = 'possettle_transactions_total{kind="settlement",rc_class!="A"}'
_AUTH = 'possettle_transactions_total{kind=~"authorization|advice"}'
# issuer down: the codes whose cause is issuer.unavailable in iso8583/codes.py (not class D:
# 90, the host's day cut-over, is class D and no issuer fault)
_AUTH_D = (
    f'possettle_transactions_total{{kind=~"authorization|advice",rc_cause="{ISSUER_UNAVAILABLE}"}}'
)
_DOWN = "/".join(issuer_down_codes())
_SETTLED = 'sum by (region) (possettle_settlement_batches{result!="open"})'
_SILENT = "sum by (region) (possettle_terminals_not_reporting)"
_DARK = (
    f"({_SILENT} / sum by (region) (possettle_terminals) >= {DARK_RATIO})"
    f" and ({_SILENT} >= {DARK_MIN_TERMINALS})"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "PossettleSettlementFailureBurnRate", "external.undetected", Severity.CRITICAL,
        f"(sum(increase({_SETTLE_BAD}[{_W}])) / sum(increase({_SETTLE}[{_W}])) > {BURN_RATIO})"
        f" and (sum(increase({_SETTLE}[{_W}])) >= {MIN_SETTLEMENTS})",
        "Settlements are failing fast enough to burn the error budget",
        "结算失败速度过快，错误预算正被快速消耗",
        "Open Settlements, sort failures by cause; run `possettle doctor` on one failing "
        "terminal; if one cause dominates, follow its remedy.",
        "打开“结算”页按原因查看失败；对一台失败终端运行 `possettle doctor`；"
        "若某一原因占多数，按其处理建议操作。",
    ),
    Rule(
        "PossettleOutOfBalanceRate", "batch.out_of_balance", Severity.WARNING,
        f'(sum by (region) (possettle_settlement_batches{{result=~"balanced_after_upload|'
        f'unbalanced"}}) / {_SETTLED} > {OUT_OF_BALANCE_RATIO})'
        f" and ({_SETTLED} >= {MIN_SETTLED_BATCHES})",
        "Many batches in {region} settle out of balance",
        "{region} 地区大量批次对账不平",
        "Check that batch upload completes; open the reconciliation exceptions of the region "
        "and compare the detail reports.",
        "确认批上送已完成；打开该地区的对账差错，核对明细报表。",
    ),
    Rule(
        "PossettleReversalsStuck", "reversal.stuck", Severity.CRITICAL,
        'sum(possettle_settlement_failures{cause="reversal.stuck"}) > 0',
        "Terminals cannot deliver reversals and are blocked",
        "终端冲正无法送达，联机交易被阻塞",
        "Reversals are retried first automatically; if they stay stuck, check the host's "
        "reversal handling and call the acquirer with the trace numbers.",
        "系统会优先自动重发冲正；若仍无法送达，检查主机冲正处理并携带流水号联系收单机构。",
    ),
    Rule(
        "PossettleIssuerUnavailable", "issuer.unavailable", Severity.CRITICAL,
        f"(sum(increase({_AUTH_D}[{_W}])) / sum(increase({_AUTH}[{_W}])) > {ISSUER_DOWN_RATIO})"
        f" and (sum(increase({_AUTH_D}[{_W}])) >= {MIN_ISSUER_FAILURES})",
        f"The issuer or card network is not answering (response codes {_DOWN})",
        f"发卡行或卡组织无应答（应答码 {_DOWN}）",
        "Check the upstream connector and the card network's status; settlements can wait; "
        "escalate if the cut-off is near.",
        "检查上游连接器与卡组织状态；结算可稍后进行；临近日切仍未恢复请升级处理。",
    ),
    Rule(
        "PossettleTerminalsNotReporting", "telemetry.missing", Severity.WARNING,
        f"({_SILENT} > 0) unless on (region) ({_DARK})",
        "Terminals in {region} have stopped reporting",
        "{region} 地区有终端停止上报",
        "Ask the merchants to check power and network; request a fresh report from the "
        "console.",
        "请商户检查电源与网络；在控制台请求终端重新上报。",
    ),
    Rule(
        "PossettleRegionDark", "region.outage", Severity.CRITICAL,
        _DARK,
        "Region {region} went dark: most of its terminals lost the host at once",
        "{region} 地区大面积失联：多数终端同时与主机断开",
        "One incident for the region: check the carrier and the host's network edge; hold "
        "retries; settle when connectivity returns.",
        "整个地区按一个事件处理：检查运营商与主机网络入口；暂停重试，恢复连接后再结算。",
    ),
)  # fmt: skip

BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _templated(text: str) -> str:
    return text.replace("{region}", "{{ $labels.region }}")


def rules_yaml() -> str:
    """The Prometheus rules file for :data:`RULES`."""
    lines = [
        "# Generated from possettle.monitor.ruleset; do not edit by hand:",
        "#   python -m possettle.monitor.ruleset > src/possettle/monitor/rules/possettle.rules.yml",
        "groups:",
        "  - name: possettle",
        "    rules:",
    ]
    for r in RULES:
        lines += [
            f"      - alert: {r.name}",
            f"        expr: {_q(r.expr)}",
            "        labels:",
            f"          severity: {_q(r.severity.value)}",
            f"          cause: {_q(r.cause)}",
            "        annotations:",
            f"          summary: {_q(_templated(r.summary_en))}",
            f"          summary_zh: {_q(_templated(r.summary_zh))}",
            f"          runbook: {_q(r.runbook_en)}",
            f"          runbook_zh: {_q(r.runbook_zh)}",
        ]
    return "\n".join(lines) + "\n"


def packaged_rules_file() -> str:
    """The committed rules file shipped as package data."""
    ref = resources.files("possettle.monitor") / "rules" / "possettle.rules.yml"
    return ref.read_text(encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover - the generator entry point
    print(rules_yaml(), end="")

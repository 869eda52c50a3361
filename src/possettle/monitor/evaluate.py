"""Each rule of :mod:`.ruleset` as a Python evaluator over one :class:`~.readings.Readings`.

The evaluators compute what the rule's PromQL computes over the metrics of the same
readings (the windows are the readings' windows), and return one :class:`Finding` per
incident: the grouping key is the region or the whole fleet, never a terminal, so a region
going dark is one incident that lists its terminals.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from possettle.iso8583.codes import ISSUER_UNAVAILABLE
from possettle.monitor import ruleset as rs
from possettle.monitor.readings import Readings, cause_label
from possettle.monitor.ruleset import Rule

FLEET = "fleet"
MAX_LISTED = 10  # terminals named in a summary; the full list is in the alert's terminals


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    incident_key: str
    cause: str
    terminals: tuple[str, ...]
    summary_en: str
    summary_zh: str


def _finding(
    rule: Rule, key: str, tids: Iterable[str], *, region: str = "", cause: str | None = None
) -> Finding:
    listed = tuple(sorted(set(tids)))
    shown = ", ".join(listed[:MAX_LISTED]) + (" …" if len(listed) > MAX_LISTED else "")
    tail_en = f" ({len(listed)} terminals: {shown})" if listed else ""
    tail_zh = f"（{len(listed)} 台终端：{shown}）" if listed else ""
    return Finding(
        rule,
        key,
        cause or rule.cause,
        listed,
        rule.summary_en.format(region=region) + tail_en,
        rule.summary_zh.format(region=region) + tail_zh,
    )


def settlement_burn(r: Readings) -> list[Finding]:
    rule = rs.BY_NAME["PossettleSettlementFailureBurnRate"]
    settles = [c for c in r.requests_recent if c.kind == "settlement"]
    total = sum(c.count for c in settles)
    bad = [c for c in settles if c.rc_class != "A"]
    if total < rs.MIN_SETTLEMENTS or sum(c.count for c in bad) / total <= rs.BURN_RATIO:
        return []
    tids = {c.tid for c in bad}
    # file the incident under the cause the failing terminals' own reports name most
    named = Counter(
        cause_label(rep.top_cause) for rep in r.reports if rep.tid in tids and rep.top_cause
    )
    cause = named.most_common(1)[0][0] if named else None
    return [_finding(rule, FLEET, tids, cause=cause if cause != "other" else None)]


def out_of_balance(r: Readings) -> list[Finding]:
    rule = rs.BY_NAME["PossettleOutOfBalanceRate"]
    settled: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for b in r.batches:
        if b.result != "open":
            settled[b.region].append((b.tid, b.result))
    found = []
    for region, rows in sorted(settled.items()):
        bad = [tid for tid, result in rows if result in ("balanced_after_upload", "unbalanced")]
        if len(rows) >= rs.MIN_SETTLED_BATCHES and len(bad) / len(rows) > rs.OUT_OF_BALANCE_RATIO:
            found.append(_finding(rule, f"region={region}", bad, region=region))
    return found


def reversals_stuck(r: Readings) -> list[Finding]:
    rule = rs.BY_NAME["PossettleReversalsStuck"]
    tids = [rep.tid for rep in r.reports if not rep.ok and rep.top_cause == rule.cause]
    return [_finding(rule, FLEET, tids)] if tids else []


def issuer_unavailable(r: Readings) -> list[Finding]:
    rule = rs.BY_NAME["PossettleIssuerUnavailable"]
    auth = [c for c in r.requests_recent if c.kind in ("authorization", "advice")]
    down = [c for c in auth if c.rc_cause == ISSUER_UNAVAILABLE]
    failures = sum(c.count for c in down)
    total = sum(c.count for c in auth)
    if failures < rs.MIN_ISSUER_FAILURES or failures / total <= rs.ISSUER_DOWN_RATIO:
        return []
    return [_finding(rule, FLEET, (c.tid for c in down))]


def _silent_by_region(r: Readings) -> dict[str, tuple[int, list[str]]]:
    """Per region with active terminals: (how many active, which are silent)."""
    out: dict[str, tuple[int, list[str]]] = {}
    for t in r.terminals:
        if t.active:
            active, silent = out.get(t.region, (0, []))
            out[t.region] = (active + 1, [*silent, t.tid] if t.stale else silent)
    return out


def _dark(active: int, silent: list[str]) -> bool:
    return len(silent) / active >= rs.DARK_RATIO and len(silent) >= rs.DARK_MIN_TERMINALS


def region_dark(r: Readings) -> list[Finding]:
    rule = rs.BY_NAME["PossettleRegionDark"]
    return [
        _finding(rule, f"region={region}", silent, region=region)
        for region, (active, silent) in sorted(_silent_by_region(r).items())
        if _dark(active, silent)
    ]


def terminals_not_reporting(r: Readings) -> list[Finding]:
    rule = rs.BY_NAME["PossettleTerminalsNotReporting"]
    # a dark region is already one incident (region.outage); do not page twice for it
    return [
        _finding(rule, f"region={region}", silent, region=region)
        for region, (active, silent) in sorted(_silent_by_region(r).items())
        if silent and not _dark(active, silent)
    ]


EVALUATORS: dict[str, Callable[[Readings], list[Finding]]] = {
    "PossettleSettlementFailureBurnRate": settlement_burn,
    "PossettleOutOfBalanceRate": out_of_balance,
    "PossettleReversalsStuck": reversals_stuck,
    "PossettleIssuerUnavailable": issuer_unavailable,
    "PossettleTerminalsNotReporting": terminals_not_reporting,
    "PossettleRegionDark": region_dark,
}


def evaluate(r: Readings) -> list[Finding]:
    """Every rule's findings, in rule order."""
    return [f for rule in rs.RULES for f in EVALUATORS[rule.name](r)]

"""How the chaos run scores the doctor (possettle.sim.scoring), the pairs of faults it puts on
one terminal (possettle.sim.faults) and its tuning and hold-out sets (possettle.sim.scenarios)."""

from __future__ import annotations

import pytest

from possettle.sim.faults import PAIRS, SPECS, Kind, attempt_for, partners
from possettle.sim.scenarios import HOLDOUT, TUNING, draw_holdout
from possettle.sim.scoring import Case, Pass, Seen, figures

PAPER, UNBALANCED, NET = "printer.paper_out", "batch.out_of_balance", "network.unstable"


def seen(*causes: str, ok: bool = False) -> Seen:
    return Seen(causes, tuple(0.9 for _ in causes), ok)


def case(faults: tuple[str, ...], look: Seen, *, settled: bool = False) -> Case:
    c = Case("T1", faults, "attempt", settled)
    c.seen[Pass.FULL] = look
    return c


@pytest.mark.parametrize(
    ("faults", "look", "settled", "verdicts"),
    [
        # one fault: only the top diagnosis names it
        ((PAPER,), seen(PAPER, UNBALANCED), False, ["named"]),
        ((PAPER,), seen(UNBALANCED, PAPER), False, ["missed"]),
        # two faults: either of the first two names each
        ((PAPER, UNBALANCED), seen(UNBALANCED, PAPER), False, ["named", "named"]),
        ((PAPER, UNBALANCED), seen(UNBALANCED, NET, PAPER), False, ["missed", "named"]),
        # healthy is "recovered" only when the run confirms the settlement went through
        ((NET,), seen(ok=True), True, ["recovered"]),
        ((NET,), seen(ok=True), False, ["missed"]),
        # a report that is not ok, or names anything, is not a report of health
        ((NET,), seen(ok=False), True, ["missed"]),
        ((NET,), seen(PAPER, ok=True), True, ["missed"]),
    ],
)
def test_a_fault_is_named_in_the_top_k_or_recovered_only_when_checked(
    faults: tuple[str, ...], look: Seen, settled: bool, verdicts: list[str]
) -> None:
    c = case(faults, look, settled=settled)
    assert [c.verdict(f, Pass.FULL).value for f in faults] == verdicts


@pytest.mark.parametrize(
    ("look", "settled", "alarm"),
    [
        (seen(ok=True), True, False),
        (seen(NET, ok=False), True, True),
        (seen(ok=False), True, True),  # "not ok" with no cause is an alarm all the same
        (seen(NET, ok=False), False, False),  # it did fail: an unexpected failure, not an alarm
    ],
)
def test_a_false_alarm_is_a_healthy_terminal_the_doctor_finds_fault_with(
    look: Seen, settled: bool, alarm: bool
) -> None:
    c = case((), look, settled=settled)
    assert c.false_alarm(Pass.FULL) is alarm
    assert c.unexpected_failure is (not settled)


def test_figures_count_every_fault_once_per_pass_and_both_of_a_pair() -> None:
    cases = [
        case((PAPER, UNBALANCED), seen(PAPER, NET)),
        case((NET,), seen(ok=True), settled=True),
        case((), seen(NET)),  # failed with no fault: not a false alarm
        case((), seen(ok=True), settled=True),
        case((), seen(PAPER), settled=True),
    ]
    fig = figures(cases).passes[Pass.FULL]
    assert (fig.all.injected, fig.all.named, fig.all.recovered, fig.all.missed) == (3, 1, 1, 1)
    assert fig.by_cause[UNBALANCED].missed == 1 and fig.by_cause[NET].recovered == 1
    assert (fig.two_fault_terminals, fig.both_named) == (1, 0)
    assert (fig.healthy_terminals, fig.false_alarms) == (2, 1)
    assert figures(cases).unexpected_failures == 1
    assert figures(cases).passes[Pass.TERMINAL_ONLY].all.injected == 0  # that pass never ran


def test_pairs_put_two_faults_on_one_terminal_only_where_both_act() -> None:
    for a, b in PAIRS:
        kinds = {SPECS[a].kind, SPECS[b].kind}
        assert len(kinds) == 2, (a, b)  # never two link faults, two printer states
        attempt_for((a, b))  # never two ways of settling (a dying process, a locked operator)
    # a crash needs its settlement to reach the crash point: nothing that stops it early
    assert set(partners("power.interrupted")) == {"printer.fault", "printer.paper_out"}
    assert all(SPECS[p].kind is Kind.PRINTER for p in partners("region.outage"))
    assert (UNBALANCED, PAPER) in PAIRS


def test_the_holdout_set_is_the_stated_draw_and_shares_no_seed_with_tuning() -> None:
    assert [s.seed for s in HOLDOUT] == draw_holdout()
    assert not {s.seed for s in HOLDOUT} & {s.seed for s in TUNING}

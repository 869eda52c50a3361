"""The keep-alive schedule and link state (terminal/keepalive.py), without a socket.

Times are the terminal's monotonic seconds; the product's defaults are an echo after 60 s idle
and a status report every 900 s.
"""

from __future__ import annotations

import pytest

from possettle.link.failure import LinkFailure
from possettle.terminal.keepalive import Duty, Keepalive, LinkState, Transition, Via


def machine(
    echo: float = 60, report: float = 900, state: LinkState = LinkState.UP, now: float = 0.0
) -> Keepalive:
    return Keepalive(echo_idle_s=echo, status_report_s=report, state=state, now=now)


ECHO, REPORT = Duty.ECHO, Duty.STATUS_REPORT
REPORTED = [("report", 900.0), ("traffic", 1790.0)]  # a report at 900 s, a sale at 1790 s

# (what the terminal did, when we ask, busy?) -> what is due
DUE = [
    ("1 s short of the idle time", [], 59.0, False, None),
    ("idle for exactly the idle time", [], 60.0, False, ECHO),
    ("overdue, but mid-transaction", [], 600.0, True, None),
    ("a sale at 30 s restarts the idle time", [("traffic", 30.0)], 60.0, False, None),
    ("… and the echo is due 60 s after it", [("traffic", 30.0)], 90.0, False, ECHO),
    ("an echo answered at 60 s: not at 119 s", [("echo", 60.0)], 119.0, False, None),
    ("an echo failed at 60 s: again at 120 s", [("fail", 60.0)], 120.0, False, ECHO),
    ("the report at 900 s goes before an echo", [("echo", 840.0)], 900.0, False, REPORT),
    ("a report is never sent mid-transaction", [], 900.0, True, None),
    ("no report 899 s after the last", REPORTED, 1799.0, False, None),
    ("… but 900 s after it", REPORTED, 1800.0, False, REPORT),
]


def _apply(k: Keepalive, what: str, at: float) -> Transition | None:
    if what == "traffic":
        return k.traffic(exchanged=at, answered=at, now=at)
    if what == "echo":
        return k.done(Duty.ECHO, at)
    if what == "report":
        return k.done(Duty.STATUS_REPORT, at)
    return k.done(Duty.ECHO, at, LinkFailure.REFUSED)


@pytest.mark.parametrize(
    ("history", "at", "busy", "due"), [c[1:] for c in DUE], ids=[c[0] for c in DUE]
)
def test_what_is_due_follows_the_schedule(
    history: list[tuple[str, float]], at: float, busy: bool, due: Duty | None
) -> None:
    k = machine()
    for what, when in history:
        _apply(k, what, when)
    assert k.due(at, busy=busy) is due


def test_zero_turns_a_duty_off_and_with_both_off_nothing_is_ever_due() -> None:
    no_echo = machine(echo=0)
    assert no_echo.due(10_000.0, busy=False) is Duty.STATUS_REPORT
    assert no_echo.wait(0.0) == 900.0
    no_report = machine(report=0)
    assert no_report.due(899.0, busy=False) is Duty.ECHO
    assert no_report.wait(30.0) == 30.0
    neither = machine(echo=0, report=0)
    assert neither.due(1e9, busy=False) is None
    assert neither.wait(0.0) is None


def test_wait_is_the_time_to_the_next_duty_and_zero_when_overdue() -> None:
    k = machine()
    assert k.wait(0.0) == 60.0
    k.traffic(exchanged=50.0, answered=50.0, now=50.0)
    assert k.wait(55.0) == 55.0
    assert k.wait(200.0) == 0.0


# (state before, outcomes in order) -> the transitions they give, and whether each is journaled
UP, DOWN, UNKNOWN = LinkState.UP, LinkState.DOWN, LinkState.UNKNOWN
REFUSED, LOST_REPLY, NO_ROUTE = LinkFailure.REFUSED, LinkFailure.LOST_REPLY, LinkFailure.NO_ROUTE
ECHOED = Via.ECHO
TRANSITIONS = [
    ("a first answer is no news", UNKNOWN, [None], [(Transition(UNKNOWN, UP, ECHOED), False)]),
    (
        "a first failure is",
        UNKNOWN,
        [LOST_REPLY],
        [(Transition(UNKNOWN, DOWN, ECHOED, LOST_REPLY), True)],
    ),
    (
        "up, then down for three echoes, then up: one change each way, the first failure's kind",
        UP,
        [None, REFUSED, REFUSED, NO_ROUTE, None],
        [(Transition(UP, DOWN, ECHOED, REFUSED), True), (Transition(DOWN, UP, ECHOED), True)],
    ),
    (
        "down when the terminal starts, still down: nothing new",
        DOWN,
        [LinkFailure.RESET, LinkFailure.RESET],
        [],
    ),
]


@pytest.mark.parametrize(
    ("before", "outcomes", "transitions"),
    [c[1:] for c in TRANSITIONS],
    ids=[c[0] for c in TRANSITIONS],
)
def test_the_link_state_changes_only_on_a_change(
    before: LinkState,
    outcomes: list[LinkFailure | None],
    transitions: list[tuple[Transition, bool]],
) -> None:
    k = machine(state=before)
    seen = [k.done(Duty.ECHO, 60.0 * (i + 1), failure) for i, failure in enumerate(outcomes)]
    assert [(t, t.journaled) for t in seen if t is not None] == transitions


def test_the_terminals_own_answered_message_brings_the_link_back_and_the_report_forward() -> None:
    k = machine()
    down = k.done(Duty.STATUS_REPORT, 900.0, LinkFailure.TIMEOUT)
    assert down is not None and down.journaled and k.state is LinkState.DOWN
    assert k.due(1000.0, busy=False) is Duty.ECHO  # the report waits for its next turn
    # a message that went unanswered proves nothing
    assert k.traffic(exchanged=1001.0, answered=None, now=1001.0) is None
    up = k.traffic(exchanged=1002.0, answered=1002.0, now=1002.0)
    assert up == Transition(LinkState.DOWN, LinkState.UP, Via.TRAFFIC)
    assert up.journaled
    # what the host missed while the line was down goes as soon as the link is back
    assert k.due(1002.0, busy=False) is Duty.STATUS_REPORT


def test_an_answer_from_before_the_link_went_down_does_not_bring_it_back() -> None:
    k = machine()
    k.traffic(exchanged=10.0, answered=10.0, now=10.0)
    k.done(Duty.ECHO, 70.0, LinkFailure.LOST_REPLY)
    assert k.traffic(exchanged=10.0, answered=10.0, now=80.0) is None
    assert k.state is LinkState.DOWN and k.failure is LinkFailure.LOST_REPLY

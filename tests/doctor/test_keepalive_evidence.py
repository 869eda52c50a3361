"""The doctor reads the terminal's keep-alive (terminal/keepalive.py) as terminal-side evidence:
a ``link_down`` its own echoes or status reports journaled, with the link's failure kind, while
the journal's link state is still down — and nothing once an answer, a sign-on or a completed
settlement came since.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from possettle.doctor.facts import JournalFacts
from possettle.doctor.probes import LinkProbe
from possettle.doctor.rank import rank
from possettle.doctor.signals import Inputs, collect
from possettle.link.failure import LinkFailure
from possettle.terminal.journal.events import (
    Event,
    LinkCameUp,
    LinkWentDown,
    SettleFailed,
    SignedOn,
)
from possettle.terminal.journal.records import SettlementRow, SettleStep
from possettle.terminal.keepalive import LinkState, Via

NOW = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
DOWN_AT = "2026-11-26T08:10:00+00:00"


def _inputs(**journal: Any) -> Inputs:
    facts = JournalFacts(config=None, readable=True, integrity_ok=True, free_bytes=1 << 30)
    for key, value in journal.items():
        setattr(facts, key, value)
    return Inputs(facts, "unknown", "unknown", LinkProbe(connect="skipped"), None, NOW)


def _down(kind: LinkFailure | None, id_: int = 2, at: str = DOWN_AT) -> Event:
    return Event(id_, at, LinkWentDown(via=Via.ECHO, before=LinkState.UP, link_failure=kind))


def _settlement(step: SettleStep, started: str, finished: str = "") -> SettlementRow:
    return SettlementRow(1, step, 5, "t", "", "", None, "", 0, None, started, finished)


def _keepalive_signals(inputs: Inputs) -> dict[str, Any]:
    seen = collect(inputs).seen
    return {k: [e.value for e in v] for k, v in seen.items() if k.startswith("keepalive.")}


@pytest.mark.parametrize("kind", list(LinkFailure))
def test_a_link_still_down_is_read_with_the_links_own_failure_kind(kind: LinkFailure) -> None:
    inputs = _inputs(events=[_down(kind)], link_state=LinkState.DOWN, link_since=DOWN_AT)
    assert _keepalive_signals(inputs) == {
        f"keepalive.down.{kind.value}": [{"link_failure": kind.value, "since": DOWN_AT}]
    }


def test_nothing_is_read_once_the_link_is_back_or_a_sign_on_succeeded_since() -> None:
    came_up = Event(3, "2026-11-26T08:12:00+00:00", LinkCameUp(via=Via.TRAFFIC))
    back = _inputs(events=[came_up, _down(LinkFailure.REFUSED)], link_state=LinkState.UP)
    assert _keepalive_signals(back) == {}
    # the state meta says down (nothing ran the keep-alive since), but a sign-on was answered
    signed = Event(3, "2026-11-26T08:12:00+00:00", SignedOn(batch=1))
    stale = _inputs(events=[signed, _down(LinkFailure.REFUSED)], link_state=LinkState.DOWN)
    assert _keepalive_signals(stale) == {}
    # a settlement went through after it: the host answered since
    done = _settlement(SettleStep.DONE, "2026-11-26T08:15:00+00:00", "2026-11-26T08:16:00+00:00")
    settled = _inputs(
        events=[_down(LinkFailure.REFUSED)], link_state=LinkState.DOWN, settlement=done
    )
    assert _keepalive_signals(settled) == {}
    # a link_down whose kind was not recorded says nothing about how
    unknown = _inputs(events=[_down(None)], link_state=LinkState.DOWN)
    assert _keepalive_signals(unknown) == {}


def test_a_line_down_before_the_settlement_began_and_still_down_counts() -> None:
    """The settlement's window does not apply: the line that went down first is the point."""
    stuck = _settlement(SettleStep.SIGN_ON, "2026-11-26T08:20:00+00:00")
    inputs = _inputs(
        events=[_down(LinkFailure.TIMEOUT)],
        link_state=LinkState.DOWN,
        link_since=DOWN_AT,
        settlement=stuck,
    )
    assert list(_keepalive_signals(inputs)) == ["keepalive.down.timeout"]


def test_a_settlement_the_host_refused_while_the_terminals_own_echoes_are_refused_too() -> None:
    """The keep-alive adds that the refusal lasts: the same cause, named more surely."""
    failure = SettleFailed(batch=1, step="sign_on", link=True, link_failure=LinkFailure.REFUSED)
    alone = _inputs(failure=failure)
    lasting = _inputs(
        failure=failure, events=[_down(LinkFailure.REFUSED)], link_state=LinkState.DOWN
    )
    [first] = rank(collect(alone), failed=True, step="sign_on")[:1]
    [then] = rank(collect(lasting), failed=True, step="sign_on")[:1]
    assert first.cause.id == then.cause.id == "host.unreachable"
    assert then.score > first.score
    assert "link_down" in [e.key for e in then.evidence]

"""Facts about one of possettle's own terminals (owner: the CLI branch; see BRIEF).

With ``--host-db URL --tid TID`` (the host ledger) or ``--dir`` (the terminal's journal, through
the doctor), questions whose answer the data has are answered here and never asked, and the
doctor's own signals join the ranking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from possettle.catalogs import Text
from possettle.clock import Clock
from possettle.support.case import Case
from possettle.support.result import Said


@dataclass(frozen=True, slots=True)
class OurFacts:
    #: question id → answer id, answered from the data
    answers: Mapping[str, str] = field(default_factory=dict)
    #: doctor likelihood keys (possettle.doctor.likelihoods.FACTORS) → the evidence behind them
    signals: Mapping[str, tuple[Said, ...]] = field(default_factory=dict)
    #: what the escalation package gets from the data (tid, mid, merchant, batch, stan, rrn …)
    escalation: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[Text, ...] = ()


def facts(case: Case, *, clock: Clock) -> OurFacts | None:
    """None when the case names none of our terminals."""
    if case.host_db is None and case.terminal_dir is None:
        return None
    raise NotImplementedError("the CLI branch builds this")

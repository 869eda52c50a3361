"""One step of the support interview (owner: the core branch; see BRIEF).

:func:`diagnose` takes a :class:`~possettle.support.case.Case` and returns a
:class:`~possettle.support.result.Result`: the causes ranked with the doctor's priors and
likelihoods, the next question by expected information gain, and what was read.
"""

from __future__ import annotations

from possettle.clock import Clock
from possettle.support.case import Case
from possettle.support.result import Result


def diagnose(case: Case, *, clock: Clock | None = None) -> Result:
    raise NotImplementedError("the core branch builds this")

"""Scoring the doctor against the injected faults: per fault, per cause, per pass.

Every terminal of a chaos run is diagnosed after its settlement attempt, failed or not, once
per :class:`Pass`, on the same state (diagnosis is read-only; the run checks that it wrote
nothing). Each injected fault then gets one :class:`Verdict` per pass:

* **named**: the cause is among the doctor's first *k* diagnoses, *k* the number of faults on
  the terminal — the top diagnosis for one fault, either of the first two for two;
* **recovered**: not named, but the doctor reports the terminal healthy (``ok``, no cause
  named) and the run confirms it is: the attempt settled balanced with its slip printed, the
  journal's settlement is done with nothing left to print or reverse, and the host closed the
  batch (:attr:`Case.settled`);
* **missed**: neither — including a fault the other fault on its terminal kept from acting.

A terminal with no fault that settled cleanly is a **false alarm** in a pass where the doctor
names a cause or reports it not ok. One with no fault whose settlement failed all the same (a
host slowed by the load) is an **unexpected failure**, counted apart.

>>> case = Case("T1", ("printer.paper_out", "batch.out_of_balance"), "", settled=False)
>>> case.seen[Pass.FULL] = Seen(("printer.paper_out", "batch.out_of_balance"), (0.9, 0.8), False)
>>> [case.verdict(f, Pass.FULL).value for f in case.faults]
['named', 'named']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Pass(StrEnum):
    """What the doctor is given (sim/chaos.py builds the options)."""

    FULL = "full"  # journal, device, link probe, host database; the simulator's dark window
    TERMINAL_ONLY = "terminal-only"  # journal, device and link probe: no host database
    DEFAULT_WINDOW = "default-window"  # as full, with the product's dark window (30 min)


class Verdict(StrEnum):
    NAMED = "named"
    RECOVERED = "recovered"
    MISSED = "missed"


@dataclass(frozen=True)
class Seen:
    """One doctor run on one terminal: the causes it named, ranked, and its verdict."""

    causes: tuple[str, ...]
    scores: tuple[float, ...]
    ok: bool

    @property
    def healthy(self) -> bool:
        return self.ok and not self.causes


@dataclass
class Case:
    """One terminal: its faults, how its settlement went, what each pass of the doctor said."""

    tid: str
    faults: tuple[str, ...]
    attempt: str  # what the merchant saw
    settled: bool  # checked by the run: settled cleanly, on both sides (module docstring)
    seen: dict[Pass, Seen] = field(default_factory=dict)

    def verdict(self, fault: str, pass_: Pass) -> Verdict:
        seen = self.seen[pass_]
        if fault in seen.causes[: len(self.faults)]:
            return Verdict.NAMED
        if seen.healthy and self.settled:
            return Verdict.RECOVERED
        return Verdict.MISSED

    def false_alarm(self, pass_: Pass) -> bool:
        return not self.faults and self.settled and not self.seen[pass_].healthy

    @property
    def unexpected_failure(self) -> bool:
        return not self.faults and not self.settled

    def as_dict(self) -> dict[str, Any]:
        return {
            "tid": self.tid,
            "faults": list(self.faults),
            "attempt": self.attempt,
            "settled": self.settled,
            "passes": {
                p.value: {
                    "causes": list(s.causes[:4]),
                    "scores": [round(x, 3) for x in s.scores[:4]],
                    "ok": s.ok,
                    "verdicts": {f: self.verdict(f, p).value for f in self.faults},
                }
                for p, s in self.seen.items()
            },
        }


@dataclass
class Row:
    injected: int = 0
    named: int = 0
    recovered: int = 0

    @property
    def missed(self) -> int:
        return self.injected - self.named - self.recovered

    @property
    def accuracy(self) -> float:
        """Named or truly recovered, of the injected."""
        return (self.named + self.recovered) / self.injected if self.injected else 0.0

    def add(self, verdict: Verdict) -> None:
        self.injected += 1
        self.named += verdict is Verdict.NAMED
        self.recovered += verdict is Verdict.RECOVERED

    def as_dict(self) -> dict[str, Any]:
        return {
            "injected": self.injected,
            "named": self.named,
            "recovered": self.recovered,
            "missed": self.missed,
            "accuracy": round(self.accuracy, 4),
        }


@dataclass
class PassFigures:
    """One pass over a set of cases."""

    by_cause: dict[str, Row] = field(default_factory=dict)
    all: Row = field(default_factory=Row)
    two_fault_terminals: int = 0
    both_named: int = 0  # two-fault terminals with both faults named
    healthy_terminals: int = 0  # no fault, settled cleanly
    false_alarms: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "by_cause": {c: r.as_dict() for c, r in sorted(self.by_cause.items())},
            "all": self.all.as_dict(),
            "two_fault_terminals": self.two_fault_terminals,
            "both_named": self.both_named,
            "healthy_terminals": self.healthy_terminals,
            "false_alarms": self.false_alarms,
        }


@dataclass
class Figures:
    passes: dict[Pass, PassFigures]
    terminals: int
    faults: int
    unexpected_failures: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "terminals": self.terminals,
            "faults": self.faults,
            "unexpected_failures": self.unexpected_failures,
            "passes": {p.value: f.as_dict() for p, f in self.passes.items()},
        }


def figures(cases: Iterable[Case]) -> Figures:
    """Every injected fault scored once per pass; false alarms on the healthy terminals."""
    cases = list(cases)
    passes = {p: PassFigures() for p in Pass}
    for case in cases:
        for p, fig in passes.items():
            if p not in case.seen:
                continue
            verdicts = [case.verdict(f, p) for f in case.faults]
            for fault, v in zip(case.faults, verdicts, strict=True):
                fig.by_cause.setdefault(fault, Row()).add(v)
                fig.all.add(v)
            if len(case.faults) == 2:
                fig.two_fault_terminals += 1
                fig.both_named += all(v is Verdict.NAMED for v in verdicts)
            if not case.faults and case.settled:
                fig.healthy_terminals += 1
                fig.false_alarms += case.false_alarm(p)
    return Figures(
        passes,
        terminals=len(cases),
        faults=sum(len(c.faults) for c in cases),
        unexpected_failures=sum(c.unexpected_failure for c in cases),
    )

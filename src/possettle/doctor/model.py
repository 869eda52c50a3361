"""What the doctor reports: checks per area, and diagnoses with evidence (JSON-able)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from possettle.doctor.catalog import Cause
from possettle.doctor.wording import Text


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"

    @property
    def mark(self) -> str:
        return {"ok": "✓", "warn": "!", "fail": "✗", "unknown": "?"}[self.value]


# The report's lines, in order; their names in each language are ``area.<name>`` of the
# wording catalog (doctor/locale/*.toml).
AREAS = (
    "power",
    "printer",
    "reader",
    "storage",
    "network",
    "host",
    "keys",
    "clock",
    "software",
    "operators",
    "batch",
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One observed fact: where it came from, a stable key, its value, and a sentence (from
    the wording catalog, :func:`possettle.doctor.wording.say`)."""

    source: str  # journal | probe | host | fleet
    key: str
    value: Any
    en: str
    zh: str

    @classmethod
    def of(cls, source: str, key: str, value: Any, text: Text) -> Evidence:
        return cls(source, key, value, text.en, text.zh)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "key": self.key,
            "value": self.value,
            "en": self.en,
            "zh": self.zh,
        }


@dataclass(frozen=True, slots=True)
class Check:
    area: str
    status: Status
    en: str
    zh: str
    evidence: tuple[Evidence, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "status": self.status.value,
            "en": self.en,
            "zh": self.zh,
            "evidence": [e.as_dict() for e in self.evidence],
        }


@dataclass
class Diagnosis:
    cause: Cause
    score: float
    step: str | None
    evidence: list[Evidence]
    ruled_out: list[str] = field(default_factory=list)
    recovery: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause.id,
            "group": self.cause.group.value,
            "step": self.step,
            "score": round(self.score, 3),
            "evidence": [e.as_dict() for e in self.evidence],
            "ruled_out": self.ruled_out,
            "recovery": self.recovery,
            "what": {"en": self.cause.what.en, "zh": self.cause.what.zh},
            "remedy": {"en": self.cause.remedy.en, "zh": self.cause.remedy.zh},
        }


@dataclass
class Report:
    terminal: str
    batch: int | None
    checks: list[Check]
    diagnoses: list[Diagnosis]
    failed: bool  # a settlement (or its steps) failed and is not recovered
    # what the journal still holds for the host (None when it could not be read)
    pending_reversals: int | None = None
    offline_items: int | None = None
    # the batch whose settlement did not finish (``batch`` is the open one: after a settlement
    # that reached the host, the terminal has moved on to the next); None when none failed
    failed_batch: int | None = None
    # the safe recoveries ran (--fix): the diagnoses are what was found before them, the
    # checks and the counts the state after them
    fixed: bool = False

    @property
    def ok(self) -> bool:
        """Nothing left unresolved: no failing check and no unresolved diagnosis."""
        unresolved = [
            d for d in self.diagnoses if not (d.recovery and d.recovery.get("result") == "ok")
        ]
        return (
            not self.failed
            and not unresolved
            and all(c.status is not Status.FAIL for c in self.checks)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "terminal": self.terminal,
            "batch": self.batch,
            "checks": [c.as_dict() for c in self.checks],
            "diagnoses": [d.as_dict() for d in self.diagnoses],
            "pending_reversals": self.pending_reversals,
            "offline_items": self.offline_items,
            "failed_batch": self.failed_batch,
        }

"""The terminal's status report (0820/362, field 62): one checked shape for writer and readers.

The terminal's doctor sends a compact summary (:func:`possettle.doctor.run.summary`); the host
checks it here before it stores it (``host/handlers/admin.py``), and the console, the monitor
and the host-side doctor read the stored row back through the same model.

The contract (docs/protocol.md §6):

* at most :data:`MAX_REPORT` bytes of UTF-8 JSON, one object;
* strict types (``"ok": "yes"`` or ``"batch": "7"`` is refused, not coerced), bounded strings,
  lists and numbers;
* **unknown keys are refused**, not dropped: the host stores only what it can read and show,
  so nothing (a card number, a key, a dump) can ride in on a key nobody reads. A terminal that
  needs more sends a newer report the host is upgraded to read;
* free text (cause ids, steps, check areas) never keeps a card number in clear: a digit run
  hiding a Luhn-valid 13–19 digit number is masked (first 6, last 4) before anything is kept.

A report that breaks the contract is answered ``30`` (format error) and not stored;
:func:`problems` names each fault as ``key[i]: what is wrong`` without echoing the value.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from possettle import validation_messages
from possettle.cards import mask_card_numbers

MAX_REPORT = 512  # bytes of UTF-8 JSON in field 62

_Safe = AfterValidator(mask_card_numbers)
CauseId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_.]+$"), _Safe]
Step = Annotated[str, Field(min_length=1, max_length=40), _Safe]
Area = Annotated[str, Field(min_length=1, max_length=30), _Safe]
Score = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
CheckStatus = Literal["ok", "warn", "fail", "unknown"]


class StatusReport(BaseModel):
    """What a terminal last told the host about its health (all but ``ok`` optional)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)

    ok: bool
    batch: Annotated[int, Field(ge=0, le=999_999)] | None = None
    # (cause id, score 0..1, settlement step or None), best first
    causes: Annotated[list[tuple[CauseId, Score, Step | None]], Field(max_length=8)] = []
    checks: Annotated[dict[Area, CheckStatus], Field(max_length=16)] = {}  # areas not ok
    pending_reversals: Count | None = None
    offline_items: Count | None = None

    @classmethod
    def parse(cls, raw: bytes) -> StatusReport:
        """The report in ``raw`` (field 62's bytes); :class:`ValidationError` when it is bad."""
        if len(raw) > MAX_REPORT:
            raise ValueError(f"{len(raw)} bytes, at most {MAX_REPORT}")
        return cls.model_validate_json(raw, strict=True)

    @classmethod
    def read(cls, stored: str | None) -> StatusReport | None:
        """A stored row read back; None when there is none or it no longer fits the model."""
        if not stored:
            return None
        try:
            return cls.model_validate_json(stored, strict=True)
        except ValidationError:
            return None  # a row stored before the host checked reports

    def stored(self) -> str:
        """The text the host keeps (compact, keys sorted)."""
        return json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (causes as ``[id, score, step]`` lists) for the console and APIs."""
        return self.model_dump(mode="json")


def problems(exc: ValueError) -> list[str]:
    """Each fault as ``report: key[i]: what is wrong``, never the offending value itself."""
    if not isinstance(exc, ValidationError):
        return [f"report: {exc}"]
    return [f"report: {p}" for p in validation_messages.problems(exc, extra="unknown key")]

"""What a merchant or a support person reports: one case, at one step of the interview."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

Lang = Literal["zh", "en", "both"]

_NONE: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Case:
    """Everything known so far; :func:`possettle.support.engine.diagnose` ranks it.

    ``answers`` maps question ids to answer ids (``support questions --json`` lists both).
    ``photo`` is the bytes of an image file of the screen. ``host_db`` + ``tid``, or
    ``terminal_dir``, say the terminal is one of possettle's own: facts from its data answer
    questions and add signals (:mod:`possettle.support.ours`).
    """

    screen: str | None = None
    code: str | None = None
    acquirer: str | None = None
    model: str | None = None
    photo: bytes | None = None
    answers: Mapping[str, str] = field(default_factory=lambda: _NONE)
    host_db: str | None = None
    tid: str | None = None
    terminal_dir: Path | None = None

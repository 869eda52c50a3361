"""Screen messages as terminals show them (``data/screens.toml``), with their Bayes factors.

The file is read once, when first asked for, and validated on load (strict types, unknown keys
refused); every problem is a :class:`~possettle.support.errors.DataFileError` naming the file,
the table and the key::

    screens.toml: screen.sim_error.factors: link.sim_inactive: expected a factor above 0, got 0.0

>>> screen("reversal_failed").factors["reversal.abandoned"] >= 100
True
>>> screen("mac_error").code
'A0'
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from possettle.catalogs import Text
from possettle.support.errors import DataFileError, UnknownIdError
from possettle.validation_messages import problems

FILE = "screens.toml"
_RESEARCH_ROWS = range(1, 72)  # the research table of screen messages has rows 1-71
_CODE_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True, slots=True)
class Screen:
    """One screen message: its texts as displayed, what it means, where it was seen, the
    response code it stands for and its Bayes factors over cause ids."""

    id: str
    rows: tuple[int, ...]
    zh: tuple[str, ...]
    en: tuple[str, ...]
    meaning: Text
    seen: str
    source: tuple[str, ...]
    code: str | None
    basis: str
    generic: bool
    factors: Mapping[str, float]

    @property
    def texts(self) -> tuple[str, ...]:
        return self.zh + self.en


@dataclass(frozen=True, slots=True)
class NotACause:
    """Words that ask about something that is not a cause of 结算失败 (the economy), the
    phrases where those words name a place instead, and what to say."""

    words: tuple[str, ...]
    places: tuple[str, ...]
    say: Text


# --------------------------------------------------------------------------- the file's schema


def _not_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty")
    return value


def _rows(value: list[int]) -> list[int]:
    if bad := [r for r in value if r not in _RESEARCH_ROWS]:
        raise ValueError(f"{bad} are not rows of the research table (1-71)")
    return value


def _factors(value: dict[str, float]) -> dict[str, float]:
    for cause, factor in value.items():
        if not factor > 0:
            raise ValueError(f"{cause}: expected a factor above 0, got {factor}")
    return value


def _some_source(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("needs at least one source (a file or an address)")
    return value


def _code(value: str) -> str:
    if len(value) != 2 or not set(value) <= _CODE_CHARS:
        raise ValueError(f"{value!r} is not a 2-character response code")
    return value


def _basis(value: str) -> str:
    if value not in ("S", "S+I", "I"):
        raise ValueError(f"{value!r} is not one of S|S+I|I")
    return value


_Str = Annotated[str, AfterValidator(_not_empty)]


class _Schema(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _TextTable(_Schema):
    en: _Str
    zh: _Str


class _ScreenTable(_Schema):
    rows: Annotated[list[int], AfterValidator(_rows)]
    zh: list[_Str]
    en: list[_Str]
    meaning: _TextTable
    seen: _Str
    source: Annotated[list[_Str], AfterValidator(_some_source)]
    code: Annotated[str, AfterValidator(_code)] | None = None
    basis: Annotated[str, AfterValidator(_basis)] = "S"
    generic: bool = False
    factors: Annotated[dict[str, float], AfterValidator(_factors)]


class _NotACauseTable(_Schema):
    words: list[_Str]
    places: list[_Str]
    en: _Str
    zh: _Str


class _ScreensFile(_Schema):
    not_a_cause: _NotACauseTable
    screen: dict[str, _ScreenTable]


# --------------------------------------------------------------------------------- loading


def parse(text: str, source: str = FILE) -> tuple[tuple[Screen, ...], NotACause]:
    """The screens and the not-a-cause rule of a screens file's text, validated."""
    try:
        doc: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"{source}: not valid TOML: {exc}") from exc
    try:
        file = _ScreensFile.model_validate(doc)
    except ValidationError as exc:
        raise DataFileError("; ".join(f"{source}: {p}" for p in problems(exc))) from None
    screens = []
    for sid, t in file.screen.items():
        if not (t.zh or t.en):
            raise DataFileError(f"{source}: screen.{sid}: needs at least one text (zh or en)")
        screens.append(
            Screen(
                id=sid,
                rows=tuple(t.rows),
                zh=tuple(t.zh),
                en=tuple(t.en),
                meaning=Text(t.meaning.en, t.meaning.zh),
                seen=t.seen,
                source=tuple(t.source),
                code=t.code,
                basis=t.basis,
                generic=t.generic,
                factors=MappingProxyType(dict(t.factors)),
            )
        )
    n = file.not_a_cause
    rule = NotACause(tuple(n.words), tuple(n.places), Text(n.en, n.zh))
    return tuple(screens), rule


@cache
def _load() -> tuple[tuple[Screen, ...], NotACause]:
    path = resources.files("possettle.support") / "data" / FILE
    return parse(path.read_text(encoding="utf-8"), FILE)


def all_screens() -> tuple[Screen, ...]:
    """Every screen message of ``data/screens.toml``, in the file's order."""
    return _load()[0]


def not_a_cause() -> NotACause:
    return _load()[1]


@cache
def _by_id() -> Mapping[str, Screen]:
    return MappingProxyType({s.id: s for s in all_screens()})


def screen(screen_id: str) -> Screen:
    try:
        return _by_id()[screen_id]
    except KeyError:
        raise UnknownIdError(f"no screen message {screen_id!r} in {FILE}") from None

"""Screen messages as terminals show them (``data/screens.toml``), with their Bayes factors.

The file is read once, when first asked for, and checked on load (types, unknown keys, cause
ids the doctor's catalog has, factors above 0); every problem is a
:class:`~possettle.support.errors.DataFileError` naming the file, the table and the key, as the
other data files of the support desk do (:mod:`.datafile`)::

    support/data/screens.toml [screen.sim_error.factors] link.sim_inactive: must be between …

>>> screen("reversal_failed").factors["reversal.abandoned"] >= 100
True
>>> screen("mac_error").code
'A0'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from possettle.catalogs import Text
from possettle.doctor.catalog import BY_ID
from possettle.support import datafile
from possettle.support.datafile import Where
from possettle.support.errors import DataFileError, UnknownIdError

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


# --------------------------------------------------------------------------------- loading

_SCREEN_KEYS = {
    "rows", "zh", "en", "meaning", "seen", "source", "code", "basis", "generic", "factors",
}  # fmt: skip
_BASES = ("S", "S+I", "I")


def _texts(where: Where, row: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = row.get(key)
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise where.error(key, "must be a list of non-empty strings")
    return tuple(value)


def _rows(where: Where, row: Mapping[str, Any]) -> tuple[int, ...]:
    value = row.get("rows")
    if not isinstance(value, list) or not all(
        isinstance(r, int) and not isinstance(r, bool) for r in value
    ):
        raise where.error("rows", "must be a list of row numbers")
    if bad := [r for r in value if r not in _RESEARCH_ROWS]:
        raise where.error("rows", f"{bad} are not rows of the research table (1-71)")
    return tuple(value)


def _meaning(where: Where, row: Mapping[str, Any]) -> Text:
    table = row.get("meaning")
    if not isinstance(table, Mapping):
        raise where.error("meaning", "must be a table { en, zh }")
    inner = Where(where.name, f"{where.table}.meaning")
    inner.only(table, {"en", "zh"})
    return Text(inner.text(table, "en"), inner.text(table, "zh"))


def _factors(where: Where, row: Mapping[str, Any]) -> Mapping[str, float]:
    table = row.get("factors")
    if not isinstance(table, Mapping) or not table:
        raise where.error("factors", "must be a table of Bayes factors over cause ids")
    inner = Where(where.name, f"{where.table}.factors")
    for cause in table:
        if cause not in BY_ID:
            raise inner.error(cause, "is not a cause of the doctor's catalog (docs/doctor.md)")
    return MappingProxyType({c: inner.number(table, c, 1.0, lo=1e-3, hi=1000.0) for c in table})


def _screen(sid: str, row: Any, name: str) -> Screen:
    where = Where(name, f"screen.{sid}")
    row = where.table_of(row)
    where.only(row, _SCREEN_KEYS)
    zh, en = _texts(where, row, "zh"), _texts(where, row, "en")
    if not (zh or en):
        raise where.error("zh", "needs at least one text (zh or en)")
    source = _texts(where, row, "source")
    if not source:
        raise where.error("source", "needs at least one source (a file or an address)")
    code = row.get("code")
    if code is not None and (
        not isinstance(code, str) or len(code) != 2 or not set(code) <= _CODE_CHARS
    ):
        raise where.error("code", f"{code!r} is not a 2-character response code")
    basis = row.get("basis", "S")
    if basis not in _BASES:
        raise where.error("basis", f"{basis!r} is not one of {'|'.join(_BASES)}")
    generic = row.get("generic", False)
    if not isinstance(generic, bool):
        raise where.error("generic", f"must be true or false, not {generic!r}")
    return Screen(
        id=sid,
        rows=_rows(where, row),
        zh=zh,
        en=en,
        meaning=_meaning(where, row),
        seen=where.text(row, "seen"),
        source=source,
        code=code,
        basis=basis,
        generic=generic,
        factors=_factors(where, row),
    )


def _rule(row: Any, name: str) -> NotACause:
    where = Where(name, "not_a_cause")
    row = where.table_of(row)
    where.only(row, {"words", "places", "en", "zh"})
    words = _texts(where, row, "words")
    if not words:
        raise where.error("words", "needs at least one word")
    return NotACause(
        words, _texts(where, row, "places"), Text(where.text(row, "en"), where.text(row, "zh"))
    )


def parse(text: str, name: str = FILE) -> tuple[tuple[Screen, ...], NotACause]:
    """The screens and the not-a-cause rule of a screens file's text, checked."""
    doc = datafile.parse(name, text)
    if unknown := sorted(set(doc) - {"screen", "not_a_cause"}):
        raise DataFileError(f"support/data/{name} [{unknown[0]}]: unknown table")
    screens = doc.get("screen")
    if not isinstance(screens, Mapping) or not screens:
        raise DataFileError(f"support/data/{name} [screen]: no screen messages")
    if "not_a_cause" not in doc:
        raise DataFileError(f"support/data/{name} [not_a_cause]: missing")
    rule = _rule(doc["not_a_cause"], name)
    return tuple(_screen(sid, row, name) for sid, row in screens.items()), rule


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

"""The CUP field-39 response-code table (``data/cup39.toml``): every code's CUP action
category, its meaning in Chinese and English, the text terminals show, and its sources.

This is the one place a code's CUP category and CUP meaning live. possettle's own dialect
(:mod:`.codes`) keeps its own columns (its class, its action, the doctor's cause) and reads
``cup_category`` from here; the support desk reads every row, and an acquirer's overrides
(``support/data/acquirers.toml``) say where a host uses a code otherwise.

>>> cup_code("A0").category, cup_code("A0").category.en
(<CupCategory.B: 'B'>, 'failed, can retry')
>>> cup_code("77").cause, cup_code("51").cause is None
('batch.sequence_mismatch', True)
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from possettle.iso8583.errors import CodeTableError

FILE = "iso8583/data/cup39.toml"


class CupCategory(StrEnum):
    """CUP's action category of a response code (research: [KY], [CTM]; the spec's annex)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"

    @property
    def en(self) -> str:
        return _CATEGORY_WORDS[self][0]

    @property
    def zh(self) -> str:
        return _CATEGORY_WORDS[self][1]


_CATEGORY_WORDS = {
    CupCategory.A: ("success", "交易成功"),
    CupCategory.B: ("failed, can retry", "交易失败，可重试"),
    CupCategory.C: ("failed, no point retrying", "交易失败，不需要重试"),
    CupCategory.D: ("failed, the operator must act", "交易失败，终端操作员处理"),
    CupCategory.E: ("failed, system fault, no point retrying", "交易失败，系统故障，不需要重试"),
}


@dataclass(frozen=True, slots=True)
class CupCode:
    code: str
    category: CupCategory
    zh: str
    en: str
    display: str  # the screen text the table recommends (终端显示)
    shown: tuple[str, ...]  # other screen texts seen with this code
    reason: str | None
    #: the doctor's cause a settlement failure with this code points at; None: the code is
    #: about one card or one sale
    cause: str | None
    sources: tuple[str, ...]


_KEYS = {"category", "zh", "en", "display", "shown", "reason", "cause", "sources"}


def _text(code: str, row: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = row.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise CodeTableError(f"{FILE}: [code.{code!r}] {key} must be a non-empty string")
    return value


def _texts(code: str, row: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = row.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CodeTableError(f"{FILE}: [code.{code!r}] {key} must be a list of strings")
    return tuple(value)


def _row(code: str, row: Any) -> CupCode:
    if not isinstance(row, Mapping):
        raise CodeTableError(f"{FILE}: [code.{code!r}] is not a table")
    if unknown := sorted(set(row) - _KEYS):
        raise CodeTableError(f"{FILE}: [code.{code!r}] unknown key {unknown[0]!r}")
    if len(code) != 2 or not code.isalnum():
        raise CodeTableError(f"{FILE}: [code.{code!r}] a field-39 code is two letters or digits")
    try:
        category = CupCategory(str(row.get("category")))
    except ValueError:
        raise CodeTableError(f"{FILE}: [code.{code!r}] category must be one of A–E") from None
    sources = _texts(code, row, "sources")
    if not sources:
        raise CodeTableError(f"{FILE}: [code.{code!r}] sources must name at least one source")
    return CupCode(
        code=code,
        category=category,
        zh=str(_text(code, row, "zh", required=True)),
        en=str(_text(code, row, "en", required=True)),
        display=str(_text(code, row, "display", required=True)),
        shown=_texts(code, row, "shown"),
        reason=_text(code, row, "reason", required=False),
        cause=_text(code, row, "cause", required=False),
        sources=sources,
    )


def parse(text: str) -> dict[str, CupCode]:
    """The table from the file's text (raises :class:`CodeTableError` naming code and key)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CodeTableError(f"{FILE}: not valid TOML: {exc}") from exc
    rows = doc.get("code")
    if not isinstance(rows, Mapping) or not rows:
        raise CodeTableError(f'{FILE}: no [code."XX"] tables')
    return {code: _row(code, row) for code, row in rows.items()}


@cache
def table() -> Mapping[str, CupCode]:
    """Every code of the CUP table by code (read once, on first use)."""
    text = (resources.files("possettle.iso8583") / "data" / "cup39.toml").read_text("utf-8")
    return parse(text)


def cup_code(code: str) -> CupCode:
    """The CUP row of ``code``; :class:`KeyError` for a code the CUP table lacks."""
    try:
        return table()[code.upper()]
    except KeyError:
        raise KeyError(f"no code {code!r} in the CUP table ({FILE})") from None


def find(code: str) -> CupCode | None:
    return table().get(code.upper())

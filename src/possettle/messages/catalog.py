"""The error sentences, one keyed catalog per language (``messages/locale/<lang>.toml``).

A translator edits the TOML files only. A key is its table and name joined by dots
(``[registry] terminal_exists`` is ``registry.terminal_exists``); a sentence has
``str.format`` placeholders (``tests/test_messages.py`` checks that each language's are
among the other's, and that both exist)::

    >>> text = say("registry.terminal_exists", tid="'12345678'")
    >>> text.en
    "terminal '12345678' is already registered"
    >>> text.zh
    "终端 '12345678' 已登记，不能重复添加"

Asking for a missing key, or giving too few or too many values, raises :class:`CatalogError`:
a sentence is never shown half-filled.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")


class CatalogError(LookupError):
    """The code asked for a sentence the catalog lacks, or gave it the wrong values (our bug)."""


@dataclass(frozen=True, slots=True)
class Text:
    """One message in English and Chinese."""

    en: str
    zh: str


def locale_file(lang: Lang) -> str:
    return (resources.files(__package__) / "locale" / f"{lang}.toml").read_text(encoding="utf-8")


def _flatten(table: Mapping[str, Any], prefix: str, out: dict[str, str], lang: Lang) -> None:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            _flatten(value, f"{key}.", out, lang)
        elif not isinstance(value, str):
            raise CatalogError(f"messages/locale/{lang}.toml: {key} is not a sentence")
        else:
            out[key] = value


@cache
def sentences(lang: Lang) -> Mapping[str, str]:
    """Every sentence of one language by its key."""
    out: dict[str, str] = {}
    _flatten(tomllib.loads(locale_file(lang)), "", out, lang)
    return out


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(lang: Lang, key: str, params: Mapping[str, object]) -> str:
    try:
        template = sentences(lang)[key]
    except KeyError:
        raise CatalogError(f"no sentence {key!r} in messages/locale/{lang}.toml") from None
    if missing := sorted(placeholders(template) - set(params)):
        raise CatalogError(f"{key} ({lang}) needs a value for {', '.join(missing)}")
    if extra := sorted(set(params) - _used(key)):
        raise CatalogError(f"{key} has no placeholder for {', '.join(extra)}")
    return template.format(**params)


def _used(key: str) -> set[str]:
    """The values ``key`` takes: those of either language (Chinese may name by field what
    the English quotes in full)."""
    return set().union(*(placeholders(sentences(lang).get(key, "")) for lang in LANGS))


def has(key: str) -> bool:
    return key in sentences("en")


def say(key: str, /, **params: object) -> Text:
    """The message ``key`` in both languages, ``params`` filled in."""
    return Text(render("en", key, params), render("zh", key, params))

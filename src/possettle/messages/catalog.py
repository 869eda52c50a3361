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

from collections.abc import Mapping

from possettle.catalogs import LANGS, Catalog, Lang, Text, placeholders


class CatalogError(LookupError):
    """The code asked for a sentence the catalog lacks, or gave it the wrong values (our bug)."""


_CATALOG = Catalog(__package__, CatalogError, label="messages/locale", shared_values=True)
locale_file = _CATALOG.locale_file
has = _CATALOG.has
render = _CATALOG.render
say = _CATALOG.say


def sentences(lang: Lang) -> Mapping[str, str]:
    """Every sentence of one language by its key."""
    return _CATALOG.sentences(lang)


__all__ = [
    "LANGS",
    "CatalogError",
    "Lang",
    "Text",
    "has",
    "locale_file",
    "placeholders",
    "render",
    "say",
    "sentences",
]

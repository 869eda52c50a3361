"""Keyed sentence catalogs, one TOML file per language, shared by every package that speaks to
people (the error messages in ``messages/``, the doctor's sentences in ``doctor/``).

A key is its table and name joined by dots (``[registry] terminal_exists`` is
``registry.terminal_exists``; ``[cause."link.down"] what`` is ``cause.link.down.what``); a
sentence has ``str.format`` placeholders. A value that is itself a :class:`Text` is put in each
language's sentence in that language. Asking for a key that is not there, or leaving out (or
adding) a value, raises the catalog's error: a sentence is never shown half-filled.
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


@dataclass(frozen=True, slots=True)
class Text:
    """One sentence in every language possettle speaks."""

    en: str
    zh: str

    def of(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.zh


def placeholders(template: str) -> set[str]:
    """The names a sentence needs: ``{stan:06d}`` needs ``stan``."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Catalog:
    """The sentences of ``package``'s ``locale/<lang>.toml`` files.

    ``shared_values``: a sentence takes the values either language names (Chinese may name
    by field what the English quotes in full); otherwise each language takes exactly its own.
    """

    def __init__(
        self, package: str, error: type[LookupError], *, label: str, shared_values: bool
    ) -> None:
        self.package, self.error, self.label, self.shared_values = (
            package,
            error,
            label,
            shared_values,
        )
        self.sentences = cache(self._load)

    def locale_file(self, lang: Lang) -> str:
        """The catalog of one language, as its text (the file ships inside the package)."""
        path = resources.files(self.package) / "locale" / f"{lang}.toml"
        return path.read_text(encoding="utf-8")

    def _load(self, lang: Lang) -> Mapping[str, str]:
        out: dict[str, str] = {}
        self._flatten(tomllib.loads(self.locale_file(lang)), "", out, lang)
        return out

    def _flatten(
        self, table: Mapping[str, Any], prefix: str, out: dict[str, str], lang: Lang
    ) -> None:
        for name, value in table.items():
            key = f"{prefix}{name}"
            if isinstance(value, Mapping):
                self._flatten(value, f"{key}.", out, lang)
            elif not isinstance(value, str):
                raise self.error(f"{self.label}/{lang}.toml: {key} is not a sentence: {value!r}")
            elif key in out:
                raise self.error(f"{self.label}/{lang}.toml: {key} is given twice")
            else:
                out[key] = value

    def has(self, key: str) -> bool:
        return key in self.sentences("en")

    def render(self, lang: Lang, key: str, params: Mapping[str, object]) -> str:
        """One sentence in one language, its placeholders filled from ``params``."""
        try:
            template = self.sentences(lang)[key]
        except KeyError:
            raise self.error(f"no sentence {key!r} in {self.label}/{lang}.toml") from None
        needed = placeholders(template)
        if missing := sorted(needed - set(params)):
            raise self.error(f"{key} ({lang}) needs a value for {', '.join(missing)}")
        taken = (
            set().union(*(placeholders(self.sentences(la).get(key, "")) for la in LANGS))
            if self.shared_values
            else needed
        )
        if extra := sorted(set(params) - taken):
            raise self.error(f"{key} ({lang}) has no placeholder for {', '.join(extra)}")
        values = {k: v.of(lang) if isinstance(v, Text) else v for k, v in params.items()}
        return template.format(**values)

    def say(self, key: str, /, **params: object) -> Text:
        """The sentence ``key`` in every language, with ``params`` filled in."""
        en, zh = (self.render(lang, key, params) for lang in LANGS)
        return Text(en, zh)

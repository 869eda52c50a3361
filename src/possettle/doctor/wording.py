"""The doctor's sentences, kept out of its decision code: one keyed catalog per language.

A translator reads and writes ``doctor/locale/<lang>.toml`` only: TOML tables of sentences with
``str.format`` placeholders (``{stan:06d}``), one file per language, the same keys and the same
placeholders in each (``tests/doctor/test_wording.py`` checks both, and that every key the code
asks for exists and every key in the files is asked for). The code names a key and gives the
values; nothing in ``doctor/`` spells a sentence itself::

    >>> text = say("evidence.reversal_pending", stan=42, attempts=3)
    >>> text.en
    'Reversal of STAN 000042 pending after 3 attempts.'
    >>> text.zh == render("zh", "evidence.reversal_pending", {"stan": 42, "attempts": 3})
    True

A key is its table and its name joined by dots (``[evidence] reversal_pending`` is
``evidence.reversal_pending``; ``[cause."link.down"] what`` is ``cause.link.down.what``). A
value that is itself a :class:`Text` is put in each language's sentence in that language.
Asking for a key that is not there, or leaving out (or adding) a value, raises
:class:`WordingError`: a sentence is never shown half-filled.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")


class WordingError(LookupError):
    """The code asked for a sentence the catalog lacks, or gave it the wrong values (our bug)."""


@dataclass(frozen=True, slots=True)
class Text:
    """One sentence in every language the doctor speaks."""

    en: str
    zh: str

    def of(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.zh


def locale_file(lang: Lang) -> str:
    """The catalog of one language, as its text (the file ships inside the package)."""
    return (resources.files(__package__) / "locale" / f"{lang}.toml").read_text(encoding="utf-8")


def _flatten(table: Mapping[str, Any], prefix: str, out: dict[str, str], lang: Lang) -> None:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            _flatten(value, f"{key}.", out, lang)
        elif not isinstance(value, str):
            raise WordingError(f"locale/{lang}.toml: {key} is not a sentence: {value!r}")
        elif key in out:
            raise WordingError(f"locale/{lang}.toml: {key} is given twice")
        else:
            out[key] = value


@cache
def sentences(lang: Lang) -> Mapping[str, str]:
    """Every sentence of one language by its key."""
    out: dict[str, str] = {}
    _flatten(tomllib.loads(locale_file(lang)), "", out, lang)
    return out


def placeholders(template: str) -> set[str]:
    """The names a sentence needs: ``{stan:06d}`` needs ``stan``."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def render(lang: Lang, key: str, params: Mapping[str, object]) -> str:
    """One sentence in one language, its placeholders filled from ``params``."""
    try:
        template = sentences(lang)[key]
    except KeyError:
        raise WordingError(f"no sentence {key!r} in locale/{lang}.toml") from None
    needed = placeholders(template)
    if missing := sorted(needed - set(params)):
        raise WordingError(f"{key} ({lang}) needs a value for {', '.join(missing)}")
    if extra := sorted(set(params) - needed):
        raise WordingError(f"{key} ({lang}) has no placeholder for {', '.join(extra)}")
    values = {k: v.of(lang) if isinstance(v, Text) else v for k, v in params.items()}
    return template.format(**values)


def say(key: str, /, **params: object) -> Text:
    """The sentence ``key`` in every language, with ``params`` filled in."""
    en, zh = (render(lang, key, params) for lang in LANGS)
    return Text(en, zh)


def join(texts: Iterable[Text]) -> Text:
    """Items run together with each language's list separator (``list.separator``)."""
    items = list(texts)
    sep = say("list.separator")
    en, zh = (sep.of(lang).join(t.of(lang) for t in items) for lang in LANGS)
    return Text(en, zh)

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

from collections.abc import Iterable, Mapping

from possettle.catalogs import LANGS, Catalog, Lang, Text, placeholders


class WordingError(LookupError):
    """The code asked for a sentence the catalog lacks, or gave it the wrong values (our bug)."""


_CATALOG = Catalog(__package__, WordingError, label="locale", shared_values=False)
locale_file = _CATALOG.locale_file
render = _CATALOG.render
say = _CATALOG.say


def sentences(lang: Lang) -> Mapping[str, str]:
    """Every sentence of one language by its key."""
    return _CATALOG.sentences(lang)


def join(texts: Iterable[Text]) -> Text:
    """Items run together with each language's list separator (``list.separator``)."""
    items = list(texts)
    sep = say("list.separator")
    en, zh = (sep.of(lang).join(t.of(lang) for t in items) for lang in LANGS)
    return Text(en, zh)


__all__ = [
    "LANGS",
    "Lang",
    "Text",
    "WordingError",
    "join",
    "locale_file",
    "placeholders",
    "render",
    "say",
    "sentences",
]

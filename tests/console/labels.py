"""Finding English left in a Chinese page: the labels the console itself words.

A label is the text of a heading, a table header, a term, a form label, a button, a caption, a
status pill, a link in the header, or a sentence the console says about a chart or a terminal.
Data (merchant names, masked cards, evidence a terminal sent) is not a label. Ids, codes and
units may stay as they are: a TID (``DEMO0001``), a cause id (``network.unstable``), a code
(``MAC``, ``CNY``), a zone (``CST``, ``UTC+8``), a number.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: CSS selectors of label elements (the browser test queries the same)
LABELS = (
    "h1, h2, h3, th, dt, label, button, caption, figcaption, summary, header nav a, "
    "span.pill, p.empty, p.health, p.zone, #timeline td:nth-child(2), #last-settlement"
)
_TAGS = {"h1", "h2", "h3", "th", "dt", "label", "button", "caption", "figcaption", "summary"}
_CLASSES = {"pill", "empty", "health", "zone"}
_DATA_SELECTS = {"merchant", "region", "day"}

_WORD = re.compile(r"[A-Za-z][A-Za-z'_.\-]*[A-Za-z0-9]|[A-Za-z]")
_ALLOWED = re.compile(
    r"^(?:[A-Z0-9]{2,}[0-9A-Z]*"  # TIDs, codes and units: DEMO0001, MAC, CNY, CST, UTC
    r"|[a-z0-9_]+(?:\.[a-z0-9_]+)+"  # cause ids: network.unstable
    r"|UTC[+-]?\d*|possettle"  # the product's name
    r")$"
)


def english_words(texts: list[str], data_words: frozenset[str] = frozenset()) -> list[str]:
    """Words in ``texts`` that are neither Chinese nor an id, code, unit or data word."""
    found = []
    for text in texts:
        for word in _WORD.findall(text):
            if not _ALLOWED.match(word) and word not in data_words:
                found.append(f"{word!r} in {text.strip()[:80]!r}")
    return found


class _Labels(HTMLParser):
    """The text of label elements in an HTML page (a small parser, no browser)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.texts: list[str] = []
        self.current: list[str] = []
        self.skip = 0
        self.cell = 0  # column within a timeline row
        self._tables: list[str] = []
        self._navs = 0
        self._selects: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "style"):
            self.skip += 1
        if tag == "select":  # merchants, regions and days to pick from are data
            data = a.get("name") in _DATA_SELECTS
            self._selects.append(data)
            self.skip += data
        classes = set((a.get("class") or "").split())
        label = tag in _TAGS or bool(classes & _CLASSES) or a.get("id") == "last-settlement"
        if tag == "tr":
            self.cell = 0
        if tag == "td":
            self.cell += 1
            label = label or (self._in_timeline and self.cell == 2)
        if tag == "a" and self._in_header_nav:
            label = True
        if tag == "table":
            self._tables.append(a.get("id") or "")
        if tag == "nav":
            self._navs += 1
        if tag in ("br", "input", "meta", "link", "img"):
            return
        self.stack.append(label)

    @property
    def _in_timeline(self) -> bool:
        return bool(self._tables) and self._tables[-1] == "timeline"

    @property
    def _in_header_nav(self) -> bool:
        return self._navs > 0

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1
        if tag == "select" and self._selects:
            self.skip -= self._selects.pop()
        if tag == "table" and self._tables:
            self._tables.pop()
        if tag == "nav":
            self._navs -= 1
        if tag in ("br", "input", "meta", "link", "img"):
            return
        if self.stack:
            was = self.stack.pop()
            if was and not any(self.stack):
                self.texts.append("".join(self.current))
                self.current = []

    def handle_data(self, data: str) -> None:
        if not self.skip and any(self.stack):
            self.current.append(data)


def label_texts(html: str) -> list[str]:
    parser = _Labels()
    parser.feed(html)
    return [t for t in parser.texts if t.strip()]

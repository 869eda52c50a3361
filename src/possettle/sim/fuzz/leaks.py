"""Find card numbers in clear in files: the check a fuzz run ends with.

Two scans over raw bytes (a log, a SQLite file, its WAL — free pages included):

* every maximal run of 13–19 ASCII digits that passes Luhn and does not start with ``0``
  (what a DLP scanner flags; no card scheme issues numbers with a leading 0, and a run of
  zeros — a JSON ``\\u0000`` next to ``000…`` — passes Luhn);
* every known PAN (the corpus's) anywhere, also inside longer digit runs (an upload
  record, a hex dump of a frame), as ASCII digits or packed BCD as it travels on the wire.

A SQLite record stores its text columns back to back, so a TID next to a STAN reads as one
long digit run: in database files (``delimited=True``) only runs with a space or printable
punctuation on both sides count for the Luhn scan — a value inside JSON or text, like
``"2": "6222…"`` — and :func:`scan_cells` covers every text value one by one through SQL.

A :class:`Leak` never holds the number itself: its ``text`` shows the hit masked (first 6 /
last 4) within its surroundings, so a failing test's output leaks nothing either.

>>> [leak.kind for leak in scan(b'{"2": "6222021234567890128"}', {"6222021234567890128"})]
['luhn', 'known PAN']
>>> scan(b'{"2": "622202*********0128"}', {"6222021234567890128"})
[]
>>> scan(b'\\x0312345678000006missing', delimited=True)  # TID + STAN columns: not a PAN
[]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from possettle.cards import luhn_ok, mask_pan

_RUN = re.compile(rb"(?<![0-9])[0-9]{13,19}(?![0-9])")
_DIGITS = re.compile(rb"[0-9]+")
#: the JSON key of the value a hit sits in: ``"48": "…`` (the last one before the hit)
_KEY = re.compile(rb'"([0-9]{1,2}|t|[a-z_]+)": ?"?[^"]*$')
_DELIMITERS = frozenset(b" \"',:;=()[]{}<>|/\\")
CONTEXT = 48


@dataclass(frozen=True, slots=True)
class Leak:
    where: str  # file name (or label)
    offset: int
    kind: str  # "luhn", "known PAN", "known PAN (BCD)"
    field: str  # the JSON key the hit sits under ("48"), or "?" when there is none
    text: str  # the surroundings, with every digit run that could be a PAN masked

    def __str__(self) -> str:
        return f"{self.where} @ {self.offset} [{self.kind}, field {self.field}]: {self.text}"


def _mask_runs(data: bytes) -> bytes:
    """Every digit run of 13+ masked (a PAN may sit in any of them)."""
    return _DIGITS.sub(
        lambda m: mask_pan(m.group().decode()).encode() if len(m.group()) >= 13 else m.group(),
        data,
    )


def _masked_context(data: bytes, start: int, end: int) -> str:
    text = _mask_runs(data[max(0, start - CONTEXT) : min(len(data), end + CONTEXT)])
    return "".join(chr(b) if 32 <= b < 127 else "." for b in text)


def masked_text(text: str) -> str:
    """``text`` with every run of 13+ digits masked: safe to print in a test failure."""
    return _mask_runs(text.encode("utf-8", "replace")).decode("utf-8", "replace")


def _field(data: bytes, start: int) -> str:
    m = _KEY.search(data[max(0, start - 400) : start])
    return m.group(1).decode() if m else "?"


def _packed(pan: str) -> bytes:
    """The first 2·⌊n/2⌋ digits of a PAN packed as BCD (either padding of the last nibble)."""
    return bytes.fromhex(pan[: len(pan) // 2 * 2])


def _delimited(data: bytes, start: int, end: int) -> bool:
    before = data[start - 1] if start > 0 else 0x20
    after = data[end] if end < len(data) else 0x20
    return before in _DELIMITERS and after in _DELIMITERS


def _leak(data: bytes, start: int, end: int, kind: str, where: str) -> Leak:
    return Leak(where, start, kind, _field(data, start), _masked_context(data, start, end))


def scan(
    data: bytes, known_pans: Iterable[str] = (), where: str = "", *, delimited: bool = False
) -> list[Leak]:
    leaks: list[Leak] = []
    for m in _RUN.finditer(data):
        if m.group()[:1] == b"0" or not luhn_ok(m.group().decode()):
            continue
        if delimited and not _delimited(data, *m.span()):
            continue
        leaks.append(_leak(data, *m.span(), "luhn", where))
    for pan in sorted(set(known_pans)):
        for needle, kind in ((pan.encode(), "known PAN"), (_packed(pan), "known PAN (BCD)")):
            start = data.find(needle)
            while start != -1:
                end = start + len(needle)
                leaks.append(_leak(data, start, end, kind, where))
                start = data.find(needle, end)
    return leaks


def scan_files(
    paths: Iterable[Path], known_pans: Iterable[str] = (), *, delimited: bool = False
) -> list[Leak]:
    """:func:`scan` over each existing file (a missing ``-wal`` is not an error)."""
    pans = list(known_pans)
    leaks: list[Leak] = []
    for path in paths:
        if path.exists():
            leaks += scan(path.read_bytes(), pans, path.name, delimited=delimited)
    return leaks


def scan_cells(
    tables: Mapping[str, Iterable[Iterable[object]]], known_pans: Iterable[str] = ()
) -> list[Leak]:
    """:func:`scan` over every text or binary value of every row, each value on its own."""
    pans = list(known_pans)
    leaks: list[Leak] = []
    for name, rows in tables.items():
        for n, row in enumerate(rows):
            for value in row:
                if isinstance(value, str):
                    value = value.encode("utf-8", "replace")
                if isinstance(value, bytes):
                    leaks += scan(value, pans, f"{name} row {n + 1}")
    return leaks

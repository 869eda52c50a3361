"""Cell conversions shared by the bill readers: yuan text to fen, bill times, text lines."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from possettle.clearing.bills.model import BadLine

_YUAN = re.compile(r"[+-]?\d+(\.\d+)?")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class CellError(ValueError):
    """A cell that does not hold what its column says (kept inside the bill readers)."""


def yuan_to_fen(text: str, *, empty_is_zero: bool = False) -> int:
    """``"12.34"`` → 1234, exactly (Decimal, never float); sub-fen digits must be zero.

    WeChat writes fees with five decimals (``0.01000``); a value that is not a whole number
    of fen is refused rather than rounded.
    """
    if not text and empty_is_zero:
        return 0
    if not _YUAN.fullmatch(text):
        raise CellError(f"not an amount in yuan: {text!r}")
    fen = Decimal(text) * 100
    if fen != fen.to_integral_value():
        raise CellError(f"not a whole number of fen: {text!r}")
    return int(fen)


def count(text: str) -> int:
    if not text.isdigit():
        raise CellError(f"not a count: {text!r}")
    return int(text)


def bill_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, TIME_FORMAT)
    except ValueError as exc:
        raise CellError(f"not a time in yyyy-MM-dd HH:mm:ss: {text!r}") from exc


@dataclass(frozen=True)
class Line:
    number: int
    byte_offset: int
    text: str

    def cells(self, file: str, clean: str) -> list[str]:
        """The line's CSV cells, each stripped of the characters in ``clean`` at both ends
        (the leading backquote is removed by the caller where the wallet writes one)."""
        try:
            row = next(csv.reader([self.text]), [])
        except csv.Error as exc:
            raise RecordError(
                BadLine(file, self.number, self.byte_offset, None, f"not CSV: {exc}", self.text)
            ) from exc
        return [cell.strip(clean) for cell in row] or [""]


def lines(text: str, encoding: str, start: int = 0) -> Iterator[Line]:
    """The lines of ``text`` with their 1-based numbers and the byte offset each starts at
    in the file as encoded (``start``: the bytes before ``text``, such as a BOM)."""
    offset = start
    # Split on line feeds only: str.splitlines would also split on U+2028, U+0085 and the
    # like, which a product name may hold.
    raws = text.split("\n")
    if raws and raws[-1] == "":
        raws.pop()
    for number, raw in enumerate(raws, start=1):
        yield Line(number, offset, raw.removesuffix("\r"))
        offset += len(raw.encode(encoding)) + 1


class RecordError(Exception):
    """A line that cannot be read; carries the :class:`BadLine` the reader reports."""

    def __init__(self, bad_line: BadLine) -> None:
        super().__init__(str(bad_line))
        self.bad_line = bad_line


@dataclass(frozen=True)
class Record:
    """One data line of a bill, its cells keyed by the header's column names."""

    file: str
    line: Line
    values: dict[str, str]

    def bad(self, column: str | None, message: str) -> RecordError:
        return RecordError(
            BadLine(
                self.file, self.line.number, self.line.byte_offset, column, message, self.line.text
            )
        )

    def text(self, column: str) -> str:
        return self.values.get(column, "")

    def optional(self, column: str) -> str | None:
        return self.values.get(column) or None

    def fen(self, column: str, *, empty_is_zero: bool = False) -> int:
        try:
            return yuan_to_fen(self.text(column), empty_is_zero=empty_is_zero)
        except CellError as exc:
            raise self.bad(column, str(exc)) from exc

    def time(self, column: str) -> datetime:
        try:
            return bill_time(self.text(column))
        except CellError as exc:
            raise self.bad(column, str(exc)) from exc

    def count(self, column: str) -> int:
        try:
            return count(self.text(column))
        except CellError as exc:
            raise self.bad(column, str(exc)) from exc


def record(file: str, line: Line, header: tuple[str, ...], cells: list[str]) -> Record:
    """``cells`` keyed by ``header``; a line with another number of cells is a bad line."""
    if len(cells) != len(header):
        raise RecordError(
            BadLine(
                file,
                line.number,
                line.byte_offset,
                None,
                f"{len(cells)} columns, the header has {len(header)}",
                line.text,
            )
        )
    return Record(file, line, dict(zip(header, cells, strict=True)))

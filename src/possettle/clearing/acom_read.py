"""Read an ACOM / ACOMA file: each line is cut into fields by byte offset BEFORE anything is
decoded, so a multibyte merchant name cannot shift the fields after it.

A bad line (too short, not GBK, an amount that is not digits, a time that is not a time)
does not stop the read and is never trimmed to fit: it comes back as a :class:`BadLine` with
its line number, byte offset and field, the good lines are read, and the result says the
file was read in part. A line longer than the layout (a reserved tail, newer fields) is read
and its tail ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from possettle.clearing.checksum import Checksum
from possettle.clearing.codec import FieldError, decode
from possettle.clearing.layout import SEPARATOR, Field, Variant, offsets
from possettle.clearing.naming import parse_name
from possettle.clearing.record import AcomRecord


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be read: where, which field, and why (never the card number)."""

    file: str
    line: int  # 1-based
    offset: int  # byte offset in the line, 0-based, where the bad field starts
    file_offset: int  # the same place as a byte offset in the file
    field: Field
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.file} line {self.line}, byte {self.offset} (file byte {self.file_offset}),"
            f" field {self.field.number} {self.field.name}: {self.reason}"
        )


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What a clearing file held: its records in file order and the lines that were bad."""

    file: str
    variant: Variant
    clearing_date: date
    records: tuple[AcomRecord, ...]
    bad_lines: tuple[BadLine, ...]

    @property
    def complete(self) -> bool:
        """False when some line was bad: the file was read in part."""
        return not self.bad_lines

    def mismatches(self, sums: Checksum) -> list[str]:
        """How this read differs from the checksum file's count and total (empty: none)."""
        out: list[str] = []
        if sums.file != Path(self.file).name:
            out.append(f"checksum is for {sums.file}, not {Path(self.file).name}")
        if sums.records != len(self.records):
            out.append(f"checksum says {sums.records} records, read {len(self.records)}")
        total = sum(r.amount for r in self.records)
        if sums.amount != total:
            out.append(f"checksum says amount {sums.amount} fen, read {total}")
        return out


def read_bytes(name: str, data: bytes, variant: Variant | None = None) -> ReadResult:
    """Read a clearing file's bytes; ``name`` gives the clearing date (and the variant,
    unless one is given). FileFormatError if the name carries no clearing date."""
    named_variant, clearing = parse_name(name)
    variant = variant or named_variant
    layout = offsets(variant)
    records: list[AcomRecord] = []
    bad: list[BadLine] = []
    start = 0
    for no, line in enumerate(data.split(b"\n"), start=1):
        line_start = start
        start += len(line) + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line and start >= len(data):
            break  # the end of the last line, not a line
        record = _read_line(line, layout, clearing)
        if isinstance(record, AcomRecord):
            records.append(record)
        else:
            field, offset, reason = record
            bad.append(BadLine(name, no, offset, line_start + offset, field, reason))
    return ReadResult(name, variant, clearing, tuple(records), tuple(bad))


def read_path(path: Path, variant: Variant | None = None) -> ReadResult:
    """Read a clearing file from disk (its name gives the clearing date)."""
    return read_bytes(str(path), path.read_bytes(), variant)


def _read_line(
    line: bytes, layout: tuple[tuple[Field, int], ...], clearing: date
) -> AcomRecord | tuple[Field, int, str]:
    values: dict[str, Any] = {}
    for field, offset in layout:
        end = offset + field.length
        if len(line) < end:
            where = "before" if len(line) <= offset else "inside"
            return field, offset, f"line is {len(line)} bytes, ends {where} this field"
        sep = line[end : end + len(SEPARATOR)]
        if sep not in (SEPARATOR, b""):  # the last field may end the line without its space
            return field, end, f"expected a space after the field, found {sep!r}"
        try:
            values[field.name] = decode(field, line[offset:end], clearing)
        except FieldError as exc:
            return field, offset, str(exc)
    return AcomRecord(**values)

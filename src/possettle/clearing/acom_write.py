"""Write ACOM / ACOMA records as byte-exact GBK fixed-width lines, the file named for its
clearing date, and the checksum file beside it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from possettle.clearing import checksum
from possettle.clearing.codec import FieldError, encode, rebuild_year
from possettle.clearing.errors import LayoutError
from possettle.clearing.layout import SEPARATOR, Kind, Variant, fields_of
from possettle.clearing.naming import checksum_name, data_name
from possettle.clearing.record import AcomRecord

NEWLINE = b"\r\n"


def encode_line(record: AcomRecord, variant: Variant) -> bytes:
    """One record's line without its line end: every field, then one space.

    A value too long for its field, or of the wrong kind, raises LayoutError naming it."""
    parts: list[bytes] = []
    for field in fields_of(variant):
        parts.append(encode(field, getattr(record, field.name)))
        parts.append(SEPARATOR)
    return b"".join(parts)


def _check_years(record: AcomRecord, variant: Variant, clearing: date) -> None:
    """Each time must come back with its own year when a reader rebuilds it from the
    clearing date (the file carries MMDDhhmmss only); else the file would lie."""
    for field in fields_of(variant):
        value = getattr(record, field.name)
        if field.kind is not Kind.TIME or value is None:
            continue
        try:
            back = rebuild_year(encode(field, value), clearing)
        except FieldError as exc:  # pragma: no cover - encode wrote MMDDhhmmss
            raise LayoutError(f"field {field.number} {field.name}: {exc}") from exc
        if back != value.replace(microsecond=0, tzinfo=None):
            raise LayoutError(
                f"field {field.number} {field.name}: {value:%Y-%m-%d %H:%M:%S} is too far from"
                f" the clearing date {clearing:%Y-%m-%d} for a reader to rebuild its year"
            )


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """A clearing file and its checksum file, named and ready to store."""

    name: str
    data: bytes
    checksum_name: str
    checksum: bytes


def write_file(
    records: Iterable[AcomRecord], clearing: date, variant: Variant = Variant.ACOMA
) -> WrittenFile:
    """The clearing file for one clearing date: one CRLF-ended line per record."""
    lines: list[bytes] = []
    total = 0
    for no, record in enumerate(records, start=1):
        try:
            lines.append(encode_line(record, variant) + NEWLINE)
            _check_years(record, variant, clearing)
        except LayoutError as exc:
            raise LayoutError(f"record {no}: {exc}") from exc
        total += record.amount
    name = data_name(variant, clearing)
    sums = checksum.Checksum(file=name, records=len(lines), amount=total)
    return WrittenFile(
        name=name,
        data=b"".join(lines),
        checksum_name=checksum_name(variant, clearing),
        checksum=checksum.render(sums),
    )

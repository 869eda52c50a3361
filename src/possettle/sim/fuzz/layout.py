"""Where each field of a well-formed PS-CUP/1 body lies: the map the mutators aim with.

A length lie or a bad-BCD nibble is only interesting where it hits a length prefix or a
numeric field, so the fuzzer walks the bitmap of every golden body once, with the dialect's
own table (:data:`possettle.iso8583.spec.FIELDS`), and records each field's span.

>>> body = bytes.fromhex("0820" "0020000000C00010" "000007" "3132333435363738"
...                      "313233343536373839303132333435" "0011" "000000013010")
>>> [(s.number, s.prefix_len, s.data_len) for s in field_spans(body)]
[(11, 0, 3), (41, 0, 8), (42, 0, 15), (60, 2, 6)]
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.iso8583.codec import present_fields
from possettle.iso8583.spec import BCD_KINDS, FIELDS, Kind

MTI_LEN = 2
BITMAP_LEN = 8
BODY_START = MTI_LEN + BITMAP_LEN


@dataclass(frozen=True, slots=True)
class FieldSpan:
    """One field of a body: its length prefix (``prefix_len`` 0, 1 or 2 BCD bytes) and data."""

    number: int
    start: int  # offset of the prefix (or of the data, for a fixed field) in the body
    prefix_len: int
    data_len: int  # bytes
    kind: Kind
    max_len: int  # in the dialect's unit: digits for n/z, bytes otherwise

    @property
    def data_start(self) -> int:
        return self.start + self.prefix_len

    @property
    def end(self) -> int:
        return self.data_start + self.data_len

    @property
    def variable(self) -> bool:
        return self.prefix_len > 0

    @property
    def bcd(self) -> bool:
        return self.kind in BCD_KINDS


class LayoutError(ValueError):
    """The body is not well formed (a golden frame that is not golden)."""


def _bcd_int(raw: bytes) -> int:
    text = raw.hex()
    if not text.isdigit():
        raise LayoutError(f"length prefix {text} is not BCD")
    return int(text)


def field_spans(body: bytes) -> list[FieldSpan]:
    """The spans of every field in ``body`` (MTI + primary bitmap + fields 2–64)."""
    if len(body) < BODY_START:
        raise LayoutError("body shorter than MTI + bitmap")
    spans: list[FieldSpan] = []
    pos = BODY_START
    for number in present_fields(body[MTI_LEN:BODY_START]):
        if number not in FIELDS:
            raise LayoutError(f"field {number} is not defined in PS-CUP/1")
        kind, max_len, prefix_len, _ = FIELDS[number]
        length = _bcd_int(body[pos : pos + prefix_len]) if prefix_len else max_len
        data_len = (length + 1) // 2 if kind in BCD_KINDS else length
        spans.append(FieldSpan(number, pos, prefix_len, data_len, kind, max_len))
        pos += prefix_len + data_len
    if pos != len(body):
        raise LayoutError(f"fields end at byte {pos}, the body has {len(body)}")
    return spans

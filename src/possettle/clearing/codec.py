"""One field's bytes from a value and back, by kind (:class:`.layout.Kind`).

Encoding works on bytes, never characters: a GBK merchant name of 10 Chinese characters is
20 bytes and is padded to the field's length in bytes. Decoding takes the field's bytes, cut
from the line before anything is decoded.
"""

from __future__ import annotations

from datetime import date, datetime

from possettle.clearing.errors import LayoutError
from possettle.clearing.layout import ENCODING, Field, Kind
from possettle.clearing.record import is_clear_pan, is_masked_pan, mask_pan

Value = str | int | datetime | None

# 转接服务费 and the other fee fields carry a sign byte before the digits: C (credit) is
# negative, anything else positive; a field of plain digits (e.g. all 0) is positive too.
NEGATIVE = b"C"
POSITIVE = b"D"

# A time every record has; the others (原始交易日期时间) are blank when there is none.
REQUIRED_TIMES = frozenset({"transmitted_at"})


class FieldError(ValueError):
    """A field's bytes that are not a value of its kind; the reader turns it into a BadLine."""


def _where(field: Field) -> str:
    return f"field {field.number} {field.name}"


def encode(field: Field, value: Value) -> bytes:
    """The field's bytes, exactly ``field.length`` long; LayoutError naming the field if the
    value does not fit."""
    if field.kind is Kind.TEXT:
        return _encode_text(field, value)
    if field.kind is Kind.NUMERIC:
        if not isinstance(value, str) or not ((value.isascii() and value.isdigit()) or not value):
            raise LayoutError(f"{_where(field)}: {value!r} is not a string of digits")
        return _fit(field, value.encode("ascii"), b"0", right=True)
    if field.kind is Kind.AMOUNT:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise LayoutError(f"{_where(field)}: {value!r} is not a non-negative amount in fen")
        return _fit(field, str(value).encode("ascii"), b"0", right=True)
    if field.kind is Kind.SIGNED_AMOUNT:
        if not isinstance(value, int) or isinstance(value, bool):
            raise LayoutError(f"{_where(field)}: {value!r} is not an amount in fen")
        sign = NEGATIVE if value < 0 else POSITIVE
        digits = _fit_digits(field, str(abs(value)).encode("ascii"), field.length - 1)
        return sign + digits
    # Kind.TIME
    if value is None:
        if field.name in REQUIRED_TIMES:
            raise LayoutError(f"{_where(field)}: every record has this time")
        return b" " * field.length
    if not isinstance(value, datetime):
        raise LayoutError(f"{_where(field)}: {value!r} is not a datetime")
    return value.strftime("%m%d%H%M%S").encode("ascii")


def _encode_text(field: Field, value: Value) -> bytes:
    if not isinstance(value, str):
        raise LayoutError(f"{_where(field)}: {value!r} is not text")
    if field.name in ("pan", "transfer_in_pan") and is_clear_pan(value):
        raise LayoutError(f"{_where(field)}: a card number in clear; write {mask_pan(value)!r}")
    if field.name in ("pan", "transfer_in_pan") and value and not is_masked_pan(value):
        raise LayoutError(f"{_where(field)}: not a masked card number (first 6, *s, last 4)")
    if "\n" in value or "\r" in value:
        raise LayoutError(f"{_where(field)}: a line break inside the value")
    try:
        raw = value.encode(ENCODING)
    except UnicodeEncodeError as exc:
        raise LayoutError(f"{_where(field)}: {value!r} cannot be written in GBK") from exc
    return _fit(field, raw, b" ", right=False)


def _fit_digits(field: Field, raw: bytes, length: int) -> bytes:
    if len(raw) > length:
        raise LayoutError(f"{_where(field)}: {len(raw)} digits, the field holds {length}")
    return raw.rjust(length, b"0")


def _fit(field: Field, raw: bytes, pad: bytes, *, right: bool) -> bytes:
    if len(raw) > field.length:
        raise LayoutError(
            f"{_where(field)}: value is {len(raw)} bytes, the field holds {field.length}"
        )
    return raw.rjust(field.length, pad) if right else raw.ljust(field.length, pad)


def decode(field: Field, raw: bytes, clearing: date) -> Value:
    """The value of a field's bytes; FieldError (no card data in its text) if they are not a
    value of the field's kind. ``clearing`` gives a time field its year."""
    if field.kind is Kind.TEXT:
        try:
            text = raw.decode(ENCODING).rstrip(" ")
        except UnicodeDecodeError as exc:
            raise FieldError(f"not GBK at byte {exc.start} of the field") from exc
        if field.name in ("pan", "transfer_in_pan"):
            return mask_pan(text)  # a clear PAN in someone else's file stops here
        return text
    if field.kind is Kind.NUMERIC:
        digits = raw.strip(b" ")
        if digits and not digits.isdigit():
            raise FieldError(f"{raw!r} is not digits")
        return digits.decode("ascii")
    if field.kind is Kind.AMOUNT:
        return _amount(raw)
    if field.kind is Kind.SIGNED_AMOUNT:
        if raw[:1].isdigit():
            return _amount(raw)
        sign, digits = raw[:1], raw[1:]
        value = _amount(digits)
        return -value if sign == NEGATIVE else value
    # Kind.TIME
    if raw.strip(b" 0") == b"":
        if field.name in REQUIRED_TIMES:
            raise FieldError("no time in a field every record has")
        return None
    return rebuild_year(raw, clearing)


def _amount(raw: bytes) -> int:
    digits = raw.strip(b" ")
    if not digits or not digits.isdigit() or not digits.isascii():
        raise FieldError(f"{raw!r} is not an amount in fen")
    return int(digits)


def rebuild_year(raw: bytes, clearing: date) -> datetime:
    """``MMDDhhmmss`` as a datetime in the year nearest the clearing date.

    The file carries no year; a ``1231…`` transmit time in a file cleared on 1 January is
    the previous year's, a ``0101…`` time in a 31 December file the next year's.

    >>> rebuild_year(b"1231235959", date(2027, 1, 1))
    datetime.datetime(2026, 12, 31, 23, 59, 59)
    """
    if len(raw) != 10 or not raw.isdigit() or not raw.isascii():
        raise FieldError(f"{raw!r} is not MMDDhhmmss")
    text = raw.decode("ascii")
    anchor = datetime(clearing.year, clearing.month, clearing.day)
    best: datetime | None = None
    for year in (clearing.year - 1, clearing.year, clearing.year + 1):
        try:
            moment = datetime.strptime(f"{year:04d}{text}", "%Y%m%d%H%M%S")
        except ValueError:
            continue  # 29 February in a year without one, or no such date at all
        if best is None or abs(moment - anchor) < abs(best - anchor):
            best = moment
    if best is None:
        raise FieldError(f"{raw!r} is not MMDDhhmmss")
    return best

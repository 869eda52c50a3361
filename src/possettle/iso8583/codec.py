"""Encode and decode PS-CUP/1 ISO bodies: a thin, pure layer over pyiso8583.

A message is a ``dict[str, str]`` in pyiso8583's shape: ``"t"`` is the MTI, ``"2"``…``"64"``
the fields; numeric fields are digit strings, binary fields upper-case hex. Sub-fields have
typed views in :mod:`possettle.iso8583.fields`.

On top of pyiso8583 this layer enforces what the dialect needs and the library cannot know:
only fields 2–64 that PS-CUP/1 defines may be present (checked on the bitmap before any
field is read), numeric fields hold only BCD digits (``D`` only in track 2), and fixed
``an``/``ans`` fields are space-padded on encode.

>>> body = encode({"t": "0820", "11": "000007", "41": "12345678",
...                "42": "123456789012345", "60": "00000001301"})
>>> decode(body)["60"]
'00000001301'
"""

from __future__ import annotations

from collections.abc import Mapping

import iso8583 as pyiso
from iso8583.decoder import DecodeError as PyDecodeError
from iso8583.encoder import EncodeError as PyEncodeError

from possettle.iso8583.errors import DecodeError, EncodeError
from possettle.iso8583.spec import BCD_KINDS, DEFINED_FIELDS, FIELDS, MAC_FIELD, PS_CUP, Kind

Fields = dict[str, str]

_MTI_LEN = 2
_BITMAP_LEN = 8
_TEXT_KINDS = frozenset({Kind.AN, Kind.ANS})
_HEX = frozenset("0123456789ABCDEF")


def present_fields(bitmap: bytes) -> list[int]:
    """Field numbers whose bits are set in an 8-byte primary bitmap (bit 1 = field 1)."""
    value = int.from_bytes(bitmap, "big")
    return [n for n in range(1, 65) if value & (1 << (64 - n))]


def check_bitmap(body: bytes) -> list[int]:
    """Reject bitmaps with bits PS-CUP/1 does not define (including a secondary bitmap)."""
    if len(body) < _MTI_LEN + _BITMAP_LEN:
        raise DecodeError(f"body is {len(body)} bytes, shorter than MTI + bitmap", field="p", pos=0)
    fields = present_fields(body[_MTI_LEN : _MTI_LEN + _BITMAP_LEN])
    undefined = [n for n in fields if n not in DEFINED_FIELDS]
    if undefined:
        raise DecodeError(
            "bitmap sets undefined field(s) " + ", ".join(map(str, undefined)),
            field="p",
            pos=_MTI_LEN,
        )
    return fields


def _check_value(key: str, value: str, *, decoding: bool) -> None:
    kind = FIELDS[int(key)][0]
    err = DecodeError if decoding else EncodeError
    if kind in BCD_KINDS:
        allowed = "0123456789D" if kind is Kind.Z else "0123456789"
        if not all(c in allowed for c in value):
            raise err("numeric field holds non-BCD data", field=key)
    elif kind is Kind.B:
        if decoding:
            return
        if len(value) % 2 or not set(value.upper()) <= _HEX:
            raise err("binary field must be an even-length hex string", field=key)
    elif not value.isascii():
        raise err("text field holds non-ASCII data", field=key)


def _prepare(message: Mapping[str, str]) -> dict[str, str]:
    if "t" not in message:
        raise EncodeError("message has no MTI", field="t")
    out: dict[str, str] = {"t": message["t"]}
    if len(out["t"]) != 4 or not out["t"].isdigit():
        raise EncodeError(f"MTI must be 4 digits, got {out['t']!r}", field="t")
    for key, value in message.items():
        if key in ("t", "p", "h"):
            continue
        if not key.isdigit() or int(key) not in DEFINED_FIELDS:
            raise EncodeError("field is not defined in PS-CUP/1", field=key)
        kind, max_len, len_type, _ = FIELDS[int(key)]
        if kind is Kind.Z:
            value = value.replace("=", "D")
        if kind is Kind.B:
            value = value.upper()
        _check_value(key, value, decoding=False)
        if len_type == 0 and kind in _TEXT_KINDS and len(value) < max_len:
            value = value.ljust(max_len)
        out[key] = value
    return out


def encode(message: Mapping[str, str]) -> bytes:
    """Encode a message (MTI + fields) into an ISO body.

    When field 64 is present its value is encoded as given; use :func:`mac_input` and
    :func:`with_mac` to compute and place a MAC.
    """
    prepared = _prepare(message)
    try:
        raw, _ = pyiso.encode(prepared, PS_CUP)
    except PyEncodeError as exc:
        raise EncodeError(exc.msg, field=exc.field) from exc
    return bytes(raw)


def decode(body: bytes) -> Fields:
    """Decode an ISO body; raise :class:`DecodeError` naming the field and byte offset."""
    mti = body[:_MTI_LEN].hex().upper()
    partial: Fields = {"t": mti} if mti.isdigit() else {}
    try:
        check_bitmap(body)
    except DecodeError as exc:
        exc.partial = partial
        raise
    try:
        decoded, _ = pyiso.decode(body, PS_CUP)
    except PyDecodeError as exc:
        partial = _clean(exc.doc_dec, strict=False)
        raise DecodeError(exc.msg, field=exc.field, pos=exc.pos, partial=partial) from exc
    try:
        return _clean(decoded, strict=True)
    except DecodeError as exc:
        exc.partial = _clean(decoded, strict=False)
        raise


def _clean(decoded: Mapping[str, str], *, strict: bool) -> Fields:
    """Drop bitmap/header, check BCD, map track-2 ``D`` back to ``=``.

    With ``strict=False`` (building the partial view of a broken message) invalid fields are
    left out instead of raising.
    """
    out: Fields = {}
    for key, value in decoded.items():
        if key in ("p", "h") or not isinstance(value, str):
            continue
        if key == "t":
            if not value.isdigit():
                if strict:
                    raise DecodeError("MTI is not BCD", field="t", pos=0)
                continue
            out["t"] = value
            continue
        try:
            _check_value(key, value, decoding=True)
        except DecodeError:
            if strict:
                raise
            continue
        if FIELDS[int(key)][0] is Kind.Z:
            value = value.replace("D", "=")
        out[key] = value
    return out


def mac_input(body: bytes) -> bytes:
    """The bytes the MAC covers: the body from the MTI up to, not including, field 64."""
    return body[:-8]


def with_mac(body: bytes, mac: bytes) -> bytes:
    """Replace the 8 placeholder bytes of field 64 at the end of an encoded body."""
    if len(mac) != 8:
        raise EncodeError(f"MAC must be 8 bytes, got {len(mac)}", field=str(MAC_FIELD))
    return body[:-8] + mac


MAC_PLACEHOLDER = "00" * 8

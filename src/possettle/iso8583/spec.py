"""PS-CUP/1 as a pyiso8583 spec dict (protocol §2).

The header and TPDU are framing (see :mod:`possettle.iso8583.framing`), so ``h`` is empty
here and the spec covers the ISO body: MTI (BCD), a binary bitmap and fields 2–64.

Encodings, as pyiso8583 spells them:

* ``n`` fixed: ``data_enc="b"`` counted in nibbles with a ``0`` pad nibble on the left
  (right-aligned); field 22 is the exception and pads on the right (left-aligned).
* ``n`` / ``z`` variable: BCD length counting digits, data left-aligned (pad on the right).
* ``an`` / ``ans``: ASCII; variable ones have a BCD length counting bytes.
* ``b``: raw bytes (hex strings in the decoded dict), BCD length counting bytes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    N = "n"
    Z = "z"
    AN = "an"
    ANS = "ans"
    B = "b"


# field: (kind, max length, length-prefix bytes (0 fixed, 1 LLVAR, 2 LLLVAR), description)
FIELDS: dict[int, tuple[Kind, int, int, str]] = {
    2: (Kind.N, 19, 1, "Primary account number"),
    3: (Kind.N, 6, 0, "Processing code"),
    4: (Kind.N, 12, 0, "Amount, transaction"),
    11: (Kind.N, 6, 0, "System trace audit number"),
    12: (Kind.N, 6, 0, "Time, local transaction"),
    13: (Kind.N, 4, 0, "Date, local transaction"),
    14: (Kind.N, 4, 0, "Date, expiration"),
    15: (Kind.N, 4, 0, "Date, settlement"),
    22: (Kind.N, 3, 0, "Point of service entry mode"),
    23: (Kind.N, 3, 0, "Card sequence number"),
    25: (Kind.N, 2, 0, "Point of service condition code"),
    26: (Kind.N, 2, 0, "Point of service PIN capture code"),
    32: (Kind.N, 11, 1, "Acquiring institution id"),
    35: (Kind.Z, 37, 1, "Track 2 data"),
    37: (Kind.AN, 12, 0, "Retrieval reference number"),
    38: (Kind.AN, 6, 0, "Authorization code"),
    39: (Kind.AN, 2, 0, "Response code"),
    41: (Kind.ANS, 8, 0, "Card acceptor terminal id"),
    42: (Kind.ANS, 15, 0, "Card acceptor id"),
    44: (Kind.AN, 25, 1, "Additional response data"),
    48: (Kind.N, 322, 2, "Additional data"),
    49: (Kind.AN, 3, 0, "Currency code"),
    52: (Kind.B, 8, 0, "PIN data"),
    53: (Kind.N, 16, 0, "Security related control information"),
    # possettle: the balance in a balance enquiry's 0210 (docs/protocol.md, "Balance enquiry")
    54: (Kind.AN, 120, 2, "Additional amounts"),
    55: (Kind.B, 255, 2, "ICC data"),
    60: (Kind.N, 30, 2, "Reserved private (type, batch, network code)"),
    61: (Kind.N, 29, 2, "Original transaction"),
    62: (Kind.B, 512, 2, "Reserved private (keys / report)"),
    63: (Kind.ANS, 63, 2, "Reserved private (operator / card org)"),
    64: (Kind.B, 8, 0, "Message authentication code"),
}

#: Fixed numeric fields that are left-aligned (pad nibble on the right).
LEFT_ALIGNED = frozenset({22})

DEFINED_FIELDS = frozenset(FIELDS)
MAC_FIELD = 64
BCD_KINDS = frozenset({Kind.N, Kind.Z})


def _field_spec(number: int) -> dict[str, Any]:
    kind, max_len, len_type, desc = FIELDS[number]
    spec: dict[str, Any] = {"len_type": len_type, "max_len": max_len, "desc": desc}
    if kind in BCD_KINDS:
        spec.update(data_enc="b", len_enc="bcd", len_count="nibbles")
        if len_type or number in LEFT_ALIGNED:
            spec["right_pad"] = "0"
        else:
            spec["left_pad"] = "0"
    elif kind is Kind.B:
        spec.update(data_enc="b", len_enc="bcd")
    else:
        spec.update(data_enc="ascii", len_enc="bcd")
    return spec


def _undefined(number: int) -> dict[str, Any]:
    # pyiso8583 wants a spec for every field; undefined ones are rejected before decoding
    # (see codec.check_bitmap), so this entry only exists to satisfy the library.
    return {"data_enc": "b", "len_enc": "b", "len_type": 0, "max_len": 0, "desc": "undefined"}


PS_CUP: dict[str, dict[str, Any]] = {
    "h": {"data_enc": "ascii", "len_enc": "ascii", "len_type": 0, "max_len": 0, "desc": "none"},
    "t": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 2, "desc": "MTI"},
    "p": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 8, "desc": "Bitmap"},
    **{str(n): (_field_spec(n) if n in FIELDS else _undefined(n)) for n in range(1, 129)},
}

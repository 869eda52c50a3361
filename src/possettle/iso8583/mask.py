"""A masked pretty-printer for PS-CUP/1 messages: a field is shown only when known to be safe.

Masking fails closed. What a field may show is decided field by field, for that message:

* fields whose content cannot be card data (fixed numeric ones, RRN, auth code, TID, MID …)
  are shown as they are;
* 60 and 61 are shown when their typed parser reads them (60's sub-fields; a tail after
  them only as its length); 63 when it is one of its short known forms;
* 48 is shown only when the exact parser for that MTI and 60.3 reads all of it: settlement
  totals (0500/0510, ``201``) as figures, batch-upload records (0320/0330, ``201``) with
  masked PANs, an upload count (0320/0330, ``202``/``207``);
* PAN → first 6 / last 4; track 2 → the masked PAN only; expiry → ``****``; PIN block, chip
  data and field 62 (keys, reports) → their length only;
* everything else — a field PS-CUP/1 does not define, a 48 no parser accepts, a partial or
  unparsable value, a key that is not a field number — is shown as its length only.

Last, any shown value holding a Luhn-valid 13–19 digit number (see
:func:`possettle.cards.has_card_number`) is replaced by its length, and non-printable
characters are escaped. Unmasked output needs an explicit opt-in at the caller and is never
produced here.

>>> masked({"t": "0200", "2": "6222021234567890128", "52": "BDFD42DCF960C8B6"})["2"]
'622202*********0128'
>>> masked({"t": "0320", "48": "0002", "60": "00000001202"})["48"]
'0002'
>>> masked({"t": "0320", "48": "0002" + "6222021234567890128", "60": "00000001202"})["48"]
'<23 digits>'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from possettle.cards import has_card_number, mask_pan, pan_from_track2
from possettle.iso8583.errors import CodecError
from possettle.iso8583.fields import (
    Field60,
    Field61,
    HalfTotals,
    NetworkCode,
    SettlementTotals,
    parse_upload_count,
    parse_upload_records,
)
from possettle.iso8583.spec import FIELDS
from possettle.printable import escape_nonprintable

#: Fields shown as they are: fixed numeric or short text that cannot hold card data (any
#: that happens to hold a Luhn-valid number is still caught by the last check).
_AS_IS = frozenset(
    {"3", "4", "11", "12", "13", "15", "22", "23", "25", "26", "32", "37", "38", "39", "41", "42"}
    | {"44", "49", "53", "64"}
)
_LENGTH_ONLY = {"52": "PIN block", "55": "chip data"}
_MTI = re.compile(r"\d{4}")
# 63: an operator code / card organisation (ans3), or the sign-on refusal's minimum version
_FIELD_63 = re.compile(r"[ -~]{1,3}|MINVER=\d{6}")


def _length(value: str, unit: str = "characters") -> str:
    return f"<{len(value)} {unit}>"


def _half(name: str, half: HalfTotals) -> str:
    return (
        f"{name}: debit {half.debit_count} for {half.debit_amount}, "
        f"credit {half.credit_count} for {half.credit_amount}, result {int(half.result)}"
    )


def _totals(value: str) -> str:
    totals = SettlementTotals.parse(value)
    return _half("domestic", totals.domestic) + "; " + _half("foreign", totals.foreign)


def _records(value: str) -> str:
    return "; ".join(repr(r) for r in parse_upload_records(value))


def _count(value: str) -> str:
    parse_upload_count(value)
    return value


#: The one parser field 48 has for each MTI and 60.3; anything else is never shown.
_FIELD_48: dict[tuple[str, NetworkCode], Callable[[str], str]] = {
    ("0500", NetworkCode.SETTLE): _totals,
    ("0510", NetworkCode.SETTLE): _totals,
    ("0320", NetworkCode.SETTLE): _records,
    ("0330", NetworkCode.SETTLE): _records,
    **{
        (mti, code): _count
        for mti in ("0320", "0330")
        for code in (NetworkCode.UPLOAD_END_UNBALANCED, NetworkCode.UPLOAD_END_BALANCED)
    },
}


def _field_48(message: Mapping[str, str]) -> str:
    value = message["48"]
    try:
        code = Field60.parse(message.get("60", "")).network_code
        parse = _FIELD_48[(message.get("t", ""), code)]
        return parse(value)
    except (CodecError, KeyError, ValueError):
        return _length(value, "digits")


def _field_60(value: str) -> str:
    try:
        f60 = Field60.parse(value)
    except CodecError:
        return _length(value, "digits")
    head = value[: len(value) - len(f60.rest)]
    return f"{head} <+{len(f60.rest)} digits>" if f60.rest else head


def _field_61(value: str) -> str:
    try:
        Field61.parse(value)
    except CodecError:
        return _length(value, "digits")
    return value


def _field_62(message: Mapping[str, str]) -> str:
    size = len(message["62"]) // 2
    return f"<working keys, {size} bytes>" if message.get("t") == "0810" else f"<{size} bytes>"


def _show(key: str, value: str, message: Mapping[str, str]) -> str:
    if key == "t":
        return value if _MTI.fullmatch(value) else _length(value)
    if key in _AS_IS:
        return value
    if key == "2":
        return mask_pan(value)
    if key == "35":
        return mask_pan(pan_from_track2(value)) + "=****"
    if key == "14":
        return "****"
    if key in _LENGTH_ONLY:
        return f"<{_LENGTH_ONLY[key]}, {len(value) // 2} bytes>"
    if key == "48":
        return _field_48(message)
    if key == "60":
        return _field_60(value)
    if key == "61":
        return _field_61(value)
    if key == "62":
        return _field_62(message)
    if key == "63" and _FIELD_63.fullmatch(value):
        return value
    return _length(value)


def masked(message: Mapping[str, str]) -> dict[str, str]:
    """A copy of the message that is safe to log: every field decided as the module says."""
    out: dict[str, str] = {}
    for key, value in message.items():
        text = str(value)
        # checked once escaped: "\x11" before "23456…" makes a digit run of its own
        shown = escape_nonprintable(_show(key, text, message))
        if has_card_number(shown):
            shown = f"<{len(text)} characters, masked>"
        name = escape_nonprintable(key)
        out[name if not has_card_number(name) else f"<{len(key)} characters>"] = shown
    return out


def pretty(message: Mapping[str, str]) -> str:
    """One line per field, masked, in field-number order."""
    safe = masked(message)
    lines = [f"MTI  {safe.get('t', '----')}"]
    for key in sorted((k for k in safe if k.isdigit()), key=int):
        desc = FIELDS[int(key)][3] if int(key) in FIELDS else "?"
        lines.append(f"{int(key):>3}  {desc:<45} [{safe[key]}]")
    return "\n".join(lines)

"""A masked pretty-printer for PS-CUP/1 messages.

PAN → first 6 / last 4; track 2 → masked PAN only; PIN block, chip data and key material
(0810 field 62) → their length only; batch-upload records → masked PANs. Unmasked output
needs an explicit opt-in at the caller and is never produced here.

>>> masked({"t": "0200", "2": "6222021234567890128", "52": "BDFD42DCF960C8B6"})["2"]
'622202*********0128'
"""

from __future__ import annotations

from collections.abc import Mapping

from possettle.cards import mask_pan, pan_from_track2
from possettle.iso8583.errors import CodecError
from possettle.iso8583.fields import Field60, NetworkCode, parse_upload_records
from possettle.iso8583.spec import FIELDS

_HIDDEN = {"52": "PIN block", "55": "chip data"}


def _mask_48(message: Mapping[str, str]) -> str:
    value = message["48"]
    try:
        f60 = Field60.parse(message.get("60", ""))
    except CodecError:
        return f"<{len(value)} digits>"
    if message.get("t") in ("0320", "0330") and f60.network_code is NetworkCode.SETTLE:
        try:
            recs = parse_upload_records(value)
        except CodecError:
            return f"<{len(value)} digits, unparsable upload records>"
        return "; ".join(repr(r) for r in recs)
    return value


def masked(message: Mapping[str, str]) -> dict[str, str]:
    """A copy of the message that is safe to log."""
    out: dict[str, str] = {}
    for key, value in message.items():
        if key == "2":
            out[key] = mask_pan(value)
        elif key == "35":
            out[key] = mask_pan(pan_from_track2(value)) + "=****"
        elif key in _HIDDEN:
            out[key] = f"<{_HIDDEN[key]}, {len(value) // 2} bytes>"
        elif key == "62":
            if message.get("t") in ("0810",):
                out[key] = f"<working keys, {len(value) // 2} bytes>"
            else:
                out[key] = f"<{len(value) // 2} bytes>"
        elif key == "48":
            out[key] = _mask_48(message)
        else:
            out[key] = value
    return out


def pretty(message: Mapping[str, str]) -> str:
    """One line per field, masked, in field-number order."""
    safe = masked(message)
    lines = [f"MTI  {safe.get('t', '----')}"]
    for key in sorted((k for k in safe if k.isdigit()), key=int):
        desc = FIELDS[int(key)][3] if int(key) in FIELDS else "?"
        lines.append(f"{int(key):>3}  {desc:<45} [{safe[key]}]")
    return "\n".join(lines)

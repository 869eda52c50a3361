"""Card numbers: Luhn check, card organisation by BIN, masking.

A clear PAN never leaves this module's callers in logs or storage: use :func:`mask_pan`
(first 6 / last 4) for display and :func:`last4` for receipts.

>>> luhn_ok("6222021234567890128")
True
>>> mask_pan("6222021234567890128")
'622202*********0128'
>>> card_org("4111111111111111")
'VIS'
"""

from __future__ import annotations

from enum import StrEnum


class CardOrg(StrEnum):
    CUP = "CUP"
    VIS = "VIS"
    MCC = "MCC"
    JCB = "JCB"
    AMX = "AMX"

    @property
    def domestic(self) -> bool:
        """Settlement totals put CUP in the domestic half and every other org in the foreign."""
        return self is CardOrg.CUP


def luhn_ok(pan: str) -> bool:
    if not pan.isdigit() or not 12 <= len(pan) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(pan)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_org(pan: str) -> CardOrg:
    """The card organisation of a PAN by its leading digits (CUP when nothing else matches)."""
    if pan.startswith("4"):
        return CardOrg.VIS
    if pan[:2] in {"51", "52", "53", "54", "55"} or "2221" <= pan[:4] <= "2720":
        return CardOrg.MCC
    if pan[:2] == "35":
        return CardOrg.JCB
    if pan[:2] in {"34", "37"}:
        return CardOrg.AMX
    return CardOrg.CUP


def mask_pan(pan: str) -> str:
    """First 6 and last 4 digits, the rest as ``*`` (short inputs keep only the last 4)."""
    if len(pan) < 13:
        return "*" * max(len(pan) - 4, 0) + pan[-4:]
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def last4(pan: str) -> str:
    return "**** " + pan[-4:]


def pan_from_track2(track2: str) -> str:
    """The PAN part of track 2 data (before the ``=`` / ``D`` separator)."""
    for sep in ("=", "D", "d"):
        if sep in track2:
            return track2.split(sep, 1)[0]
    return track2


def expiry_from_track2(track2: str) -> str | None:
    for sep in ("=", "D", "d"):
        if sep in track2:
            rest = track2.split(sep, 1)[1]
            return rest[:4] if len(rest) >= 4 else None
    return None

"""Card numbers: Luhn check, card organisation by BIN, masking.

A clear PAN never leaves this module's callers in logs or storage: use :func:`mask_pan`
(first 6 / last 4) for display and :func:`last4` for receipts.

>>> luhn_ok("6222021234567890128")
True
>>> mask_pan("6222021234567890128")
'622202*********0128'
>>> card_org("4111111111111111")
<CardOrg.VIS: 'VIS'>
>>> card_org("4111111111111111").domestic
False
>>> mask_card_numbers("ref 0622202123456789012800 ok")
'ref 062220************2800 ok'
"""

from __future__ import annotations

import re
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


_DIGIT_RUN = re.compile(r"\d{13,}")
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _hides_card_number(digits: str) -> bool:
    """Whether any 13–19 digit window of ``digits`` passes Luhn.

    A PAN padded, prefixed or followed by other digits is still a PAN to whoever reads the
    text, so every window counts, not only the whole run. Prefix sums make it linear: ``sums[p]``
    adds the digits before each index with every other one doubled, ``p`` choosing which.
    """
    n = len(digits)
    sums = ([0] * (n + 1), [0] * (n + 1))
    for i, ch in enumerate(digits):
        d = ord(ch) - 48
        for p in (0, 1):
            sums[p][i + 1] = sums[p][i] + (_DOUBLED[d] if (i + p) % 2 else d)
    for end in range(13, n + 1):
        # the check digit is the window's last one: doubled are those an odd distance from it
        p = (end + 1) % 2
        for size in range(13, min(19, end) + 1):
            if (sums[p][end] - sums[p][end - size]) % 10 == 0:
                return True
    return False


def has_card_number(text: str) -> bool:
    """Whether ``text`` holds a run of digits with a Luhn-valid 13–19 digit number in it."""
    return any(_hides_card_number(m.group()) for m in _DIGIT_RUN.finditer(text))


def mask_card_numbers(text: str) -> str:
    """``text`` with every digit run that hides a card number masked as :func:`mask_pan` does."""
    return _DIGIT_RUN.sub(
        lambda m: mask_pan(m.group()) if _hides_card_number(m.group()) else m.group(), text
    )


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

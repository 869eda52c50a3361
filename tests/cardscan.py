"""An independent scanner for card numbers in text or bytes: every 13–19 digit window of every
digit run that passes Luhn (a PAN hidden in a longer run of digits counts too)."""

from __future__ import annotations

import re

_RUN = re.compile(rb"\d{13,}")


def _luhn(digits: bytes) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ch - 0x30
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_numbers(data: str | bytes) -> list[str]:
    """Every Luhn-valid 13–19 digit window in ``data`` (all-zero windows included)."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    found: list[str] = []
    for run in _RUN.finditer(raw):
        digits = run.group()
        for size in range(13, min(19, len(digits)) + 1):
            for start in range(len(digits) - size + 1):
                window = digits[start : start + size]
                if _luhn(window):
                    found.append(window.decode())
    return found

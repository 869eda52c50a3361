"""Money as an integer count of minor units with its currency; never a float.

>>> Money.parse("123.45")
Money(minor=12345, currency='156')
>>> str(Money(12345))
'123.45'
>>> yuan(123456)
'¥1,234.56'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from possettle.errors import PossettleError

CNY = "156"
_EXPONENT = {"156": 2, "840": 2, "978": 2, "392": 0, "344": 2}
_AMOUNT_RE = re.compile(r"^(\d{1,10})(?:\.(\d{1,2}))?$")


class MoneyError(PossettleError, ValueError):
    """An amount that cannot be represented (negative, too many decimals, too large)."""


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str = CNY

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError(f"amount must be an integer count of minor units, got {self.minor!r}")
        if self.minor < 0 or self.minor > 999_999_999_999:
            raise MoneyError(f"amount {self.minor} is outside 0..999999999999 minor units")

    @classmethod
    def parse(cls, text: str, currency: str = CNY) -> Money:
        """Parse a decimal amount typed by a person (``"12.34"``) without floats."""
        m = _AMOUNT_RE.match(text.strip())
        if not m:
            raise MoneyError(f"not an amount: {text!r} (expected digits with up to 2 decimals)")
        exp = _EXPONENT.get(currency, 2)
        whole, frac = m.group(1), (m.group(2) or "")
        if len(frac) > exp:
            raise MoneyError(f"{text!r} has more decimals than currency {currency} allows")
        return cls(int(whole) * 10**exp + int(frac.ljust(exp, "0") or "0"), currency)

    @classmethod
    def from_field4(cls, digits: str, currency: str = CNY) -> Money:
        """Field 4 is n12 in minor units."""
        return cls(int(digits), currency)

    def field4(self) -> str:
        return f"{self.minor:012d}"

    def __str__(self) -> str:
        exp = _EXPONENT.get(self.currency, 2)
        if exp == 0:
            return str(self.minor)
        return f"{self.minor // 10**exp}.{self.minor % 10**exp:0{exp}d}"


def yuan(minor: int) -> str:
    """An amount in fen as a merchant reads it: ``¥1,234.56`` (the same in English and Chinese)."""
    sign = "-" if minor < 0 else ""
    return f"{sign}¥{abs(minor) // 100:,}.{abs(minor) % 100:02d}"

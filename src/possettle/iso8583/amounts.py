"""Field 54, additional amounts (ISO 8583:1987): how a balance enquiry's 0210 carries the
balance (docs/protocol.md, "Balance enquiry").

Each amount is 20 characters: account type n2 · amount type n2 · currency n3 · sign ``C``
(credit: the cardholder has it) or ``D`` (debit: owed) · amount n12 in minor units. Up to six
fit the field's 120. Amount type ``02`` is the available balance, ``01`` the ledger balance.

>>> a = AdditionalAmount(amount_type=AVAILABLE, currency="156", minor=100_000_000)
>>> str(a)
'0002156C000100000000'
>>> parse("0002156C000100000000") == [a]
True
>>> available(parse("0001156D000000001000")).minor
-1000
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LEDGER = "01"
AVAILABLE = "02"
_ONE = re.compile(r"^([0-9]{2})([0-9]{2})([0-9]{3})([CD])([0-9]{12})$")
WIDTH = 20


@dataclass(frozen=True, slots=True)
class AdditionalAmount:
    amount_type: str
    currency: str
    minor: int  # signed: negative when the sign is D
    account_type: str = "00"

    def __str__(self) -> str:
        sign = "D" if self.minor < 0 else "C"
        return f"{self.account_type}{self.amount_type}{self.currency}{sign}{abs(self.minor):012d}"


def parse(text: str) -> list[AdditionalAmount]:
    """Every 20-character amount in ``text``; ValueError naming the one that is malformed."""
    if not text or len(text) % WIDTH:
        raise ValueError(f"field 54 is {len(text)} characters, not a multiple of {WIDTH}")
    out = []
    for i in range(0, len(text), WIDTH):
        m = _ONE.match(text[i : i + WIDTH])
        if m is None:
            raise ValueError(f"field 54: amount {i // WIDTH + 1} is malformed")
        minor = int(m[5]) * (-1 if m[4] == "D" else 1)
        out.append(AdditionalAmount(m[2], m[3], minor, m[1]))
    return out


def available(amounts: list[AdditionalAmount]) -> AdditionalAmount | None:
    """The available balance if it is there, else the ledger balance, else None."""
    for kind in (AVAILABLE, LEDGER):
        for a in amounts:
            if a.amount_type == kind:
                return a
    return None

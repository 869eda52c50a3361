"""What the answer to a balance enquiry (余额查询) means (docs/protocol.md, "Balance enquiry").

::

    Balance          00 with a readable field 54: the available balance, signed
    BalanceRefused   any other response code (``resign`` when it asks for a sign-on), or a
                     00 without a readable balance
    BalanceUnknown   no usable reply: not sent, no answer, or a reply whose MAC fails

A balance enquiry moves no money: it is not in the batch, is never reversed and is not
journaled as a transaction, so none of the three changes the journal beyond a sign-on flag.

>>> from possettle.terminal.operations.answer import Replied
>>> after_balance(Replied({"39": "00", "54": "0002156C000000012345"}))
Balance(minor=12345, currency='156')
>>> after_balance(Replied({"39": "55"}))
BalanceRefused(code='55', resign=False)
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.iso8583 import amounts
from possettle.terminal.errors import LinkDown
from possettle.terminal.operations.answer import Answer, BadMac, NotSent, Replied, Unanswered
from possettle.terminal.operations.online import RESIGN_CODES

#: a 00 that carries no balance the terminal can read: the question was not answered
NO_BALANCE = "96"


@dataclass(frozen=True, slots=True)
class Balance:
    minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class BalanceRefused:
    code: str
    resign: bool = False


@dataclass(frozen=True, slots=True)
class BalanceUnknown:
    error: LinkDown  # the terminal's error for the link's failure, for the caller to raise


BalanceOutcome = Balance | BalanceRefused | BalanceUnknown


def after_balance(answer: Answer) -> BalanceOutcome:
    match answer:
        case Replied(reply=reply, resign=resign):
            code = reply.get("39", "")
            if code != "00":
                return BalanceRefused(code, resign or code in RESIGN_CODES)
            try:
                found = amounts.available(amounts.parse(reply.get("54", "")))
            except ValueError:
                found = None
            if found is None:
                return BalanceRefused(NO_BALANCE, resign)
            return Balance(found.minor, found.currency)
        case BadMac(error=error):
            return BalanceUnknown(error)
        case Unanswered(error=error):
            return BalanceUnknown(error)
        case NotSent(error=error):
            return BalanceUnknown(error)

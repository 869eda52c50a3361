"""The balance enquiry's shell (余额查询): one 0200 with processing code ``310000``.

It follows protocol §5's order like a sale (sign on if needed, pending reversals and advices
first), but it moves no money: no transaction row, no pending reversal, nothing in the batch,
no receipt, and the card number appears in nothing it returns. A reply that asks for a fresh
sign-on (22, 77, A0) gets one sign-on and one more try. The decision is
:mod:`possettle.terminal.operations.balance`.
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.link import requests as m
from possettle.terminal.operations.answer import BadMac
from possettle.terminal.operations.balance import (
    Balance,
    BalanceOutcome,
    BalanceRefused,
    BalanceUnknown,
    after_balance,
)
from possettle.terminal.shell import Terminal
from possettle.terminal.transactions import Payments


@dataclass(frozen=True, slots=True)
class BalanceResult:
    """What the cardholder is shown: the balance, or the host's refusal. No card data."""

    code: str
    stan: int
    balance: int | None = None  # minor units, signed (negative: owed)
    currency: str = "156"

    @property
    def ok(self) -> bool:
        return self.balance is not None

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "code": self.code,
            "stan": self.stan,
            "balance": self.balance,
            "currency": self.currency,
        }


async def balance_enquiry(
    terminal: Terminal, payments: Payments, pan: str, *, expiry: str, pin: str | None
) -> BalanceResult:
    """Ask the issuer for the card's balance; LinkDown when there is no usable answer."""
    outcome: BalanceOutcome | None = None
    stan = 0
    for _ in range(2):
        await payments.recover()
        stan, outcome = await _ask(terminal, pan, expiry, pin)
        if not (isinstance(outcome, BalanceRefused) and outcome.resign):
            break
        with terminal.journal.write("meta") as conn:
            terminal.journal.set_meta(conn, "needs_signon", "1")
    match outcome:
        case Balance(minor=minor, currency=currency):
            return BalanceResult("00", stan, minor, currency)
        case BalanceRefused(code=code):
            return BalanceResult(code, stan)
        case BalanceUnknown(error=error):
            raise error
    raise AssertionError("unreachable")  # pragma: no cover


async def _ask(
    terminal: Terminal, pan: str, expiry: str, pin: str | None
) -> tuple[int, BalanceOutcome]:
    c = terminal.config
    stan = terminal.allocate_stan()
    pik = terminal.key("pik") if pin else None
    fields = m.balance(c.tid, c.mid, stan, terminal.batch, pan=pan, expiry=expiry, pin=pin, pik=pik)
    answer = await terminal.deliver("balance", fields)
    if isinstance(answer, BadMac):
        await terminal.drop_link()
    return stan, after_balance(answer)

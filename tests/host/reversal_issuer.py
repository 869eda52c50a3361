"""A third-party issuer for the reversal tests: iso8583sim's mock host, with books.

iso8583sim (PyPI) parses and builds the ISO 8583:1987 messages and serves them over TCP with
its ``MockHost`` (2-byte length, ASCII fields, binary bitmap — the layout possettle's
upstream speaks); this subclass only decides each answer in ``rule_for`` (the library's
public hook): it keeps a balance per card, debits an approved 0200 and credits it back on the
first 0400 for its RRN, can leave chosen requests unanswered, and counts every message by MTI
and RRN. It shares no code with ``possettle.upstream``.

* a 0200 whose amount is in ``lost_amounts`` is approved and debited, and never answered;
* the first ``reversal_stalls`` 0400s for such a request are not answered either.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from iso8583sim.core.types import ISO8583Message
from iso8583sim.net import MockHost, Rule

OPENING = 100_000_000


@dataclass
class Effect:
    pan: str = field(repr=False)
    amount: int
    reversed: bool = False


class BookkeepingIssuer(MockHost):
    def __init__(self, lost_amounts: set[int], reversal_stalls: int = 1) -> None:
        super().__init__()
        self.lost_amounts = lost_amounts
        self.reversal_stalls = reversal_stalls
        self.received: Counter[tuple[str, str]] = Counter()  # (MTI, RRN) → count
        self.effects: dict[str, Effect] = {}
        self._balances: dict[str, int] = {}
        self._stalls_left: dict[str, int] = {}

    def balance(self, pan: str) -> int:
        return self._balances.get(pan, OPENING)

    def rrns(self, mti: str) -> set[str]:
        return {rrn for (m, rrn), n in self.received.items() if m == mti and n}

    def rule_for(self, request: ISO8583Message) -> Rule:
        f = request.fields
        rrn = str(f.get(37, "")).strip()
        self.received[(request.mti, rrn)] += 1
        if request.mti == "0200":
            return self._authorize(rrn, str(f[2]), int(f[4]))
        if request.mti == "0400":
            return self._reverse(rrn)
        return Rule(respond="12")

    def _authorize(self, rrn: str, pan: str, amount: int) -> Rule:
        if rrn in self.effects:
            return Rule(respond="94")
        if self.balance(pan) < amount:
            return Rule(respond="51")
        self.effects[rrn] = Effect(pan, amount)
        self._balances[pan] = self.balance(pan) - amount
        if amount in self.lost_amounts:
            self._stalls_left[rrn] = self.reversal_stalls
            return Rule(action="drop")  # approved and debited; the answer is lost
        return Rule(respond="00")

    def _reverse(self, rrn: str) -> Rule:
        if self._stalls_left.get(rrn, 0) > 0:
            self._stalls_left[rrn] -= 1
            return Rule(action="drop")
        effect = self.effects.get(rrn)
        if effect is None:
            return Rule(respond="25")
        if not effect.reversed:
            effect.reversed = True
            self._balances[effect.pan] = self.balance(effect.pan) + effect.amount
        return Rule(respond="00")

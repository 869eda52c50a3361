"""The built-in issuer: an in-memory card ledger driven by :mod:`possettle.upstream.rules`.

With default rules it approves (``00`` with a 6-digit authorization code) any Luhn-valid card
(else ``14``) that is not expired (``54``), whose PIN, when one is given, is right (``55``;
``123456`` unless the card sets its own) and whose balance covers the amount (``51``; every
card starts with 1,000,000.00). Card states: expired ``54``, lost ``41``, frozen ``62``.

Like a real issuer it never sees a clear PIN: the request carries a PIN block under the
simulator's zone PIN key (:attr:`SimulatorConnector.zpk`, from the rules file's ``[issuer]
zpk`` or generated per instance), and :func:`possettle.crypto.pin.pin_matches` checks it
against the card's PIN inside the crypto module. A block that does not decode is a wrong PIN.

Effects per kind: a sale debits; a void credits back the amount of the original (found by
``original_rrn``, ``25`` when unknown or already undone); a refund credits; an offline advice
is force-posted (only the Luhn check can refuse it); a balance inquiry changes nothing.
:meth:`SimulatorConnector.send_reversal` undoes the effect of the request with that RRN once
and answers ``00`` (``25`` for an RRN it never saw).

This module *is* the issuer, so it keeps balances by card (a hash of the PAN) in memory, and
with the rules' ``state_file`` also on disk (rewritten atomically after every change, so it
outlives a host killed with SIGKILL, as a real issuer's books would); it never logs them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import structlog

from possettle.cards import luhn_ok, mask_pan
from possettle.clock import Clock
from possettle.crypto.errors import PinBlockError
from possettle.crypto.keys import Key, generate_key
from possettle.crypto.pin import pin_matches
from possettle.upstream.connector import (
    AuthKind,
    AuthRequest,
    AuthResult,
    LateReplyHandler,
    SentRequest,
    UpstreamReversal,
)
from possettle.upstream.errors import UpstreamTimeout, UpstreamUnavailable
from possettle.upstream.rules import Card, CardState, Rules

log = structlog.get_logger("possettle.upstream")

_STATE_CODES = {CardState.EXPIRED: "54", CardState.LOST: "41", CardState.FROZEN: "62"}


def card_key(pan: str) -> str:
    """The key the simulator keeps a card's balance under (never the PAN itself)."""
    return hashlib.sha256(b"possettle-sim:" + pan.encode()).hexdigest()[:32]


@dataclass(slots=True)
class _Effect:
    """What one request did to one card, so it can be reversed or voided exactly once."""

    card: str  # card_key(pan)
    delta: int  # minor units added to the balance (negative for a debit)
    reversed: bool = False
    voided_by: str | None = None  # the RRN of the void that credited this sale back
    voids: str | None = None  # for a void: the RRN of the sale it credited back


class SimulatorConnector:
    """An :class:`~possettle.upstream.connector.IssuerConnector` that is its own issuer."""

    def __init__(self, clock: Clock, rules: Rules | None = None, name: str = "sim") -> None:
        self.name = name
        self._clock = clock
        self._rules = rules or Rules()
        #: the zone PIN key the host translates PIN blocks to for this issuer
        self.zpk: Key = self._rules.zpk or generate_key(16)
        self._balances: dict[str, int] = {}
        self._effects: dict[str, _Effect] = {}
        # reversal attempts still to be left unanswered, by RRN (rule reversal_no_reply)
        self._silent: dict[str, int] = {}
        # what the issuer was sent, by RRN: {"auth": n, "reversal": n}
        self._received: dict[str, dict[str, int]] = {}
        self._next_auth = 0
        self._closed = False
        self._load()

    async def start(self) -> None:
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True

    def set_late_reply_handler(self, handler: LateReplyHandler | None) -> None:
        """Nothing arrives late from the simulator: it answers or stays silent."""

    def balance(self, pan: str) -> int:
        """The card's balance in minor units (for tests and the demo console)."""
        return self._balances.get(card_key(pan), self._opening_balance(pan))

    def describe(self, req: AuthRequest) -> SentRequest:
        # The simulator finds a request by its RRN alone.
        return SentRequest(req.rrn, {"rrn": req.rrn, "kind": req.kind.value})

    async def authorize(self, req: AuthRequest, timeout: float) -> AuthResult:  # noqa: ASYNC109
        if self._closed:
            raise UpstreamUnavailable(f"{self.name}: the simulator is closed")
        self._count(req.rrn, "auth")
        for outage in self._rules.outages:
            if outage.covers(self._local_time().time()):
                if outage.response is None:  # the parser allows only no_reply then
                    await self._no_reply(req, timeout, "outage window")
                return AuthResult(outage.response)
        rule = next((r for r in self._rules.rules if r.matches(req)), None)
        if rule is not None:
            if rule.reversal_no_reply:
                self._silent[req.rrn] = rule.reversal_no_reply
                self._save()
            if rule.latency_ms:
                if rule.latency_ms / 1000 >= timeout:
                    # A real issuer's reply would arrive after the host gave up on it.
                    await self._no_reply(req, timeout, "latency rule beyond the timeout")
                await asyncio.sleep(rule.latency_ms / 1000)
            if rule.no_reply:
                await self._no_reply(req, timeout, "no_reply rule")
            if rule.lost_reply:
                result = self._decide(req)  # acted on: the card may be debited ...
                log.info("sim lost reply", issuer=self.name, rrn=req.rrn, code=result.response_code)
                await self._no_reply(req, timeout, "lost_reply rule")  # ... and never told
            if rule.response is not None:
                return AuthResult(rule.response, self._auth_code(rule.response))
        return self._decide(req)

    async def send_reversal(self, reversal: UpstreamReversal, timeout: float) -> AuthResult:  # noqa: ASYNC109
        if self._closed:
            raise UpstreamUnavailable(f"{self.name}: the simulator is closed")
        rrn = reversal.rrn
        self._count(rrn, "reversal")
        if self._silent.get(rrn, 0) > 0:
            self._silent[rrn] -= 1
            self._save()
            await asyncio.sleep(timeout)
            log.info("sim reversal unanswered", issuer=self.name, rrn=rrn)
            raise UpstreamTimeout(f"{self.name}: no reply within {timeout:g}s to reversal {rrn}")
        effect = self._effects.get(rrn)
        if effect is None:
            return AuthResult("25")  # unable to locate the original: nothing to undo
        if not effect.reversed:  # a reversal is applied at most once
            effect.reversed = True
            self._post(effect.card, -effect.delta)
            if effect.voids is not None:
                self._effects[effect.voids].voided_by = None
            self._save()
            log.info("sim reversed", issuer=self.name, rrn=rrn, reason=reversal.reason)
        return AuthResult("00")

    def received(self, rrn: str) -> dict[str, int]:
        """How many authorizations and reversals with this RRN the issuer was sent."""
        return dict(self._received.get(rrn, {}))

    # --- the issuer's decision -------------------------------------------------------------

    def _decide(self, req: AuthRequest) -> AuthResult:
        if not luhn_ok(req.pan):
            return AuthResult("14")
        if req.rrn in self._effects:
            return AuthResult("94")
        card = self._rules.cards.get(req.pan)
        if req.kind is AuthKind.OFFLINE:
            return self._apply(req, -req.amount.minor)  # force post: the sale already happened
        if req.kind is AuthKind.VOID:
            return self._void(req, card)
        if req.kind is AuthKind.REFUND:
            return self._apply(req, req.amount.minor)
        refusal = self._refusal(req, card)
        if refusal is not None:
            return AuthResult(refusal)
        if req.kind is AuthKind.BALANCE:
            return AuthResult("00", self._auth_code("00"), balance=self.balance(req.pan))
        if self.balance(req.pan) < req.amount.minor:
            return AuthResult("51")
        return self._apply(req, -req.amount.minor)

    def _refusal(self, req: AuthRequest, card: Card | None) -> str | None:
        if card is not None and card.state in _STATE_CODES:
            return _STATE_CODES[card.state]
        if req.expiry is not None and self._expired(req.expiry):
            return "54"
        return self._pin_refusal(req, card)

    def _pin_refusal(self, req: AuthRequest, card: Card | None) -> str | None:
        if req.pin_block is None:
            return None
        expected = card.pin if card is not None and card.pin is not None else None
        if expected is None:
            expected = self._rules.defaults.pin
        try:
            right = pin_matches(self.zpk, req.pin_block, req.pan, expected)
        except PinBlockError:
            right = False  # a PAN no format 0 block can belong to: no PIN to verify
        return None if right else "55"

    def _void(self, req: AuthRequest, card: Card | None) -> AuthResult:
        original_rrn = req.original_rrn
        original = self._effects.get(original_rrn) if original_rrn else None
        if (
            original_rrn is None
            or original is None
            or original.reversed
            or original.voided_by is not None
            or original.delta >= 0
        ):
            return AuthResult("25")
        if original.card != card_key(req.pan):
            return AuthResult("12")
        refusal = self._pin_refusal(req, card)
        if refusal is not None:
            return AuthResult(refusal)
        result = self._apply(req, -original.delta)
        original.voided_by = req.rrn
        self._effects[req.rrn].voids = original_rrn
        return result

    def _apply(self, req: AuthRequest, delta: int) -> AuthResult:
        key = card_key(req.pan)
        self._balances[key] = self.balance(req.pan)
        self._effects[req.rrn] = _Effect(key, delta)
        self._post(key, delta)
        log.debug(
            "sim approved",
            issuer=self.name,
            kind=req.kind.value,
            pan=mask_pan(req.pan),
            rrn=req.rrn,
        )
        return AuthResult("00", self._auth_code("00"))

    def _post(self, card: str, delta: int) -> None:
        self._balances[card] += delta
        self._save()

    def _opening_balance(self, pan: str) -> int:
        card = self._rules.cards.get(pan)
        if card is not None and card.balance is not None:
            return card.balance
        return self._rules.defaults.balance

    def _expired(self, expiry: str) -> bool:
        # A card is valid through the last day of its expiry month; an unreadable one is expired.
        if len(expiry) != 4 or not expiry.isdigit() or not 1 <= int(expiry[2:]) <= 12:
            return True
        now = self._local_time()
        return (2000 + int(expiry[:2]), int(expiry[2:])) < (now.year, now.month)

    def _auth_code(self, response: str) -> str | None:
        if response != "00":
            return None
        self._next_auth = self._next_auth % 999_999 + 1
        return f"{self._next_auth:06d}"

    def _local_time(self) -> datetime:
        return self._clock.now()

    async def _no_reply(self, req: AuthRequest, wait: float, why: str) -> NoReturn:
        await asyncio.sleep(wait)
        log.info("sim no reply", issuer=self.name, rrn=req.rrn, why=why)
        sent = None if req.kind is AuthKind.BALANCE else self.describe(req)
        raise UpstreamTimeout(
            f"{self.name}: no reply within {wait:g}s for rrn {req.rrn}", sent=sent
        )

    # --- the issuer's books on disk (rules: state_file) -------------------------------------

    def _count(self, rrn: str, what: str) -> None:
        counts = self._received.setdefault(rrn, {})
        counts[what] = counts.get(what, 0) + 1
        self._save()

    def _load(self) -> None:
        path = self._rules.state_file
        if path is None or not path.exists():
            return
        doc = json.loads(path.read_text(encoding="utf-8"))
        self._balances = {str(k): int(v) for k, v in doc["balances"].items()}
        self._effects = {str(k): _Effect(**v) for k, v in doc["effects"].items()}
        self._silent = {str(k): int(v) for k, v in doc["silent"].items()}
        self._received = doc["received"]
        self._next_auth = int(doc["next_auth"])

    def _save(self) -> None:
        path = self._rules.state_file
        if path is None:
            return
        doc = {
            "balances": self._balances,
            "effects": {k: asdict(v) for k, v in self._effects.items()},
            "silent": self._silent,
            "received": self._received,
            "next_auth": self._next_auth,
        }
        # Written whole and renamed into place: a host killed mid-write leaves the old books.
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)


@dataclass(frozen=True, slots=True)
class SimulatorBooks:
    """A simulator's ``state_file`` as read back (tests check the issuer's side with it)."""

    balances: dict[str, int]
    received: dict[str, dict[str, int]]

    @classmethod
    def read(cls, path: Path) -> SimulatorBooks:
        if not path.exists():
            return cls({}, {})
        doc = json.loads(path.read_text(encoding="utf-8"))
        return cls(doc["balances"], doc["received"])

    def balance(self, pan: str, opening: int) -> int:
        return int(self.balances.get(card_key(pan), opening))

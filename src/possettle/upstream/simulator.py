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
:meth:`SimulatorConnector.reverse` undoes the effect of the request with that RRN once.

This module *is* the issuer, so it keeps balances by PAN in memory; it never logs them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import NoReturn

import structlog

from possettle.cards import luhn_ok, mask_pan
from possettle.clock import Clock
from possettle.crypto.errors import PinBlockError
from possettle.crypto.keys import Key, generate_key
from possettle.crypto.pin import pin_matches
from possettle.upstream.connector import AuthKind, AuthRequest, AuthResult
from possettle.upstream.errors import UpstreamTimeout, UpstreamUnavailable
from possettle.upstream.rules import Card, CardState, Rules

log = structlog.get_logger("possettle.upstream.simulator")

_STATE_CODES = {CardState.EXPIRED: "54", CardState.LOST: "41", CardState.FROZEN: "62"}


@dataclass(slots=True)
class _Effect:
    """What one request did to one card, so it can be reversed or voided exactly once."""

    pan: str = field(repr=False)
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
        self._next_auth = 0
        self._closed = False

    async def start(self) -> None:
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True

    def balance(self, pan: str) -> int:
        """The card's balance in minor units (for tests and the demo console)."""
        return self._balances.get(pan, self._opening_balance(pan))

    async def authorize(self, req: AuthRequest, timeout: float) -> AuthResult:  # noqa: ASYNC109
        if self._closed:
            raise UpstreamUnavailable(f"{self.name}: the simulator is closed")
        for outage in self._rules.outages:
            if outage.covers(self._local_time().time()):
                if outage.response is None:  # the parser allows only no_reply then
                    await self._no_reply(req, timeout, "outage window")
                return AuthResult(outage.response)
        rule = next((r for r in self._rules.rules if r.matches(req)), None)
        if rule is not None:
            if rule.latency_ms:
                if rule.latency_ms / 1000 >= timeout:
                    # A real issuer's reply would arrive after the host gave up on it.
                    await self._no_reply(req, timeout, "latency rule beyond the timeout")
                await asyncio.sleep(rule.latency_ms / 1000)
            if rule.no_reply:
                await self._no_reply(req, timeout, "no_reply rule")
            if rule.response is not None:
                return AuthResult(rule.response, self._auth_code(rule.response))
        return self._decide(req)

    async def reverse(self, req: AuthRequest, reason: str) -> None:
        effect = self._effects.get(req.rrn)
        if effect is None or effect.reversed:
            return  # unknown or already reversed: a reversal is applied at most once
        effect.reversed = True
        self._post(effect.pan, -effect.delta)
        if effect.voids is not None:
            self._effects[effect.voids].voided_by = None
        log.info("sim reversed", issuer=self.name, rrn=req.rrn, reason=reason)

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
            return AuthResult("00", self._auth_code("00"))
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
        if original.pan != req.pan:
            return AuthResult("12")
        refusal = self._pin_refusal(req, card)
        if refusal is not None:
            return AuthResult(refusal)
        result = self._apply(req, -original.delta)
        original.voided_by = req.rrn
        self._effects[req.rrn].voids = original_rrn
        return result

    def _apply(self, req: AuthRequest, delta: int) -> AuthResult:
        self._post(req.pan, delta)
        self._effects[req.rrn] = _Effect(req.pan, delta)
        log.info(
            "sim approved",
            issuer=self.name,
            kind=req.kind.value,
            pan=mask_pan(req.pan),
            rrn=req.rrn,
        )
        return AuthResult("00", self._auth_code("00"))

    def _post(self, pan: str, delta: int) -> None:
        self._balances[pan] = self.balance(pan) + delta

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
        raise UpstreamTimeout(f"{self.name}: no reply within {wait:g}s for rrn {req.rrn}")

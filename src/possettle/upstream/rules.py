"""The simulator's rules file: card overrides, matching rules and outage windows.

Parsed with the standard library's ``tomllib`` and validated key by key; every problem is a
:class:`RulesError` naming the file, the table (with its array index) and the key::

    rules.toml: rules[2].response: '5' is not a 2-character response code

A rule matches when every match key it sets matches (no keys: it matches everything); rules
are tried in file order and the first match wins. Its action is ``response`` (answer that
code), ``no_reply`` (stay silent), ``lost_reply`` (decide and act as usual, but the answer
never reaches the host: the card is debited and the host times out), optionally preceded by
``latency_ms``; a rule with only ``latency_ms`` delays the normal answer. ``reversal_no_reply
= N`` leaves the first N reversal attempts for a matched request unanswered. A top-level
``state_file`` (relative to the rules file) keeps balances and what was received across
restarts of the host, as a real issuer would. Outage windows use the local time of the clock and
may cross midnight (``23:30``–``00:15``); the end is exclusive. ``[issuer] zpk`` names the
zone PIN key (32 or 48 hex digits) the simulator verifies PIN blocks under; without it each
simulator generates its own.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from pathlib import Path

from possettle.cards import mask_pan
from possettle.crypto.keys import Key
from possettle.upstream.connector import AuthKind, AuthRequest
from possettle.upstream.errors import RulesError

DEFAULT_BALANCE = 100_000_000  # 1,000,000.00 in minor units
DEFAULT_PIN = "123456"
_MAX_MINOR = 999_999_999_999
_RESPONSE_RE = re.compile(r"^[0-9A-Z]{2}$")
_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class CardState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    LOST = "lost"
    FROZEN = "frozen"


@dataclass(frozen=True, slots=True)
class Defaults:
    balance: int = DEFAULT_BALANCE
    pin: str = field(default=DEFAULT_PIN, repr=False)


@dataclass(frozen=True, slots=True)
class Card:
    """An issuer-side override for one card; unset fields fall back to the defaults."""

    pan: str = field(repr=False)
    balance: int | None = None
    state: CardState = CardState.ACTIVE
    pin: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Card(pan={mask_pan(self.pan)!r}, balance={self.balance!r}, state={self.state!r})"


@dataclass(frozen=True, slots=True)
class Rule:
    pan: str | None = field(default=None, repr=False)
    pan_prefix: str | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    kind: AuthKind | None = None
    tid: str | None = None
    response: str | None = None
    latency_ms: int = 0
    no_reply: bool = False
    lost_reply: bool = False
    reversal_no_reply: int = 0

    def matches(self, req: AuthRequest) -> bool:
        minor = req.amount.minor
        return (
            (self.pan is None or req.pan == self.pan)
            and (self.pan_prefix is None or req.pan.startswith(self.pan_prefix))
            and (self.min_amount is None or minor >= self.min_amount)
            and (self.max_amount is None or minor <= self.max_amount)
            and (self.kind is None or req.kind is self.kind)
            and (self.tid is None or req.tid == self.tid)
        )


@dataclass(frozen=True, slots=True)
class Outage:
    start: time
    end: time
    response: str | None = None
    no_reply: bool = False

    def covers(self, now: time) -> bool:
        now = now.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end  # the window crosses midnight


@dataclass(frozen=True, slots=True)
class Rules:
    defaults: Defaults = Defaults()
    cards: Mapping[str, Card] = field(default_factory=dict, repr=False)
    rules: tuple[Rule, ...] = ()
    outages: tuple[Outage, ...] = ()
    state_file: Path | None = None
    #: the zone PIN key shared with the host; None: the simulator makes one up
    zpk: Key | None = None


def load_rules(path: str | Path) -> Rules:
    """Read and validate a rules file; every problem is a :class:`RulesError`."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{source}: cannot read the rules file: {exc}") from exc
    return parse_rules(text, source)


def parse_rules(text: str, source: str = "rules.toml") -> Rules:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: not valid TOML: {exc}") from exc
    top = _Table(source, "", doc, ("issuer", "defaults", "cards", "rules", "outages", "state_file"))
    issuer = top.table("issuer", ("zpk",))
    zpk = None if issuer is None else issuer.zpk("zpk")
    defaults = _defaults(top.table("defaults", ("balance", "pin")))
    cards: dict[str, Card] = {}
    for t in top.array("cards"):
        card = _card(t)
        if card.pan in cards:
            raise t.error("pan", f"{mask_pan(card.pan)!r} is listed twice in [[cards]]")
        cards[card.pan] = card
    rules = tuple(_rule(t) for t in top.array("rules"))
    outages = tuple(_outage(t) for t in top.array("outages"))
    state = top.string("state_file")
    state_file = None
    if state is not None:
        if not state:
            raise top.error("state_file", "is empty")
        state_file = Path(state)
        if not state_file.is_absolute():
            state_file = Path(source).parent / state_file
    return Rules(defaults, cards, rules, outages, state_file=state_file, zpk=zpk)


def _defaults(t: _Table | None) -> Defaults:
    if t is None:
        return Defaults()
    balance = t.amount("balance")
    pin = t.pin("pin")
    return Defaults(
        DEFAULT_BALANCE if balance is None else balance, DEFAULT_PIN if pin is None else pin
    )


def _card(t: _Table) -> Card:
    pan = t.string("pan", required=True)
    if pan is None or not pan.isdigit() or not 12 <= len(pan) <= 19:
        raise t.error("pan", "is not a PAN of 12 to 19 digits")
    state = t.choice("state", [s.value for s in CardState])
    return Card(
        pan=pan,
        balance=t.amount("balance"),
        state=CardState(state) if state else CardState.ACTIVE,
        pin=t.pin("pin"),
    )


def _rule(t: _Table) -> Rule:
    pan = t.string("pan")
    if pan is not None and not (pan.isdigit() and 12 <= len(pan) <= 19):
        raise t.error("pan", "is not a PAN of 12 to 19 digits")
    prefix = t.string("pan_prefix")
    if prefix is not None and not (prefix.isdigit() and 1 <= len(prefix) <= 19):
        raise t.error("pan_prefix", f"{prefix!r} is not a prefix of 1 to 19 digits")
    min_amount, max_amount = t.amount("min_amount"), t.amount("max_amount")
    if min_amount is not None and max_amount is not None and min_amount > max_amount:
        raise t.error("max_amount", f"{max_amount} is below min_amount {min_amount}")
    kind = t.choice("kind", [k.value for k in AuthKind])
    tid = t.string("tid")
    if tid is not None and not 1 <= len(tid) <= 8:
        raise t.error("tid", f"{tid!r} is not a terminal id of 1 to 8 characters")
    response, latency_ms, no_reply = t.response("response"), t.latency("latency_ms"), t.flag()
    if response is not None and no_reply:
        raise t.error("no_reply", "cannot be combined with response")
    lost_reply = t.flag("lost_reply")
    if lost_reply and (response is not None or no_reply):
        raise t.error("lost_reply", "cannot be combined with response or no_reply")
    silent = t.data.get("reversal_no_reply", 0)
    if not isinstance(silent, int) or isinstance(silent, bool) or not 0 <= silent <= 100:
        raise t.error("reversal_no_reply", f"{silent!r} is not a count of attempts (0..100)")
    if response is None and not no_reply and not lost_reply and latency_ms is None and not silent:
        raise t.error(
            "",
            "a rule needs response, latency_ms, no_reply = true, lost_reply = true "
            "or reversal_no_reply",
        )
    return Rule(
        pan=pan,
        pan_prefix=prefix,
        min_amount=min_amount,
        max_amount=max_amount,
        kind=AuthKind(kind) if kind else None,
        tid=tid,
        response=response,
        latency_ms=latency_ms or 0,
        no_reply=no_reply,
        lost_reply=lost_reply,
        reversal_no_reply=silent,
    )


def _outage(t: _Table) -> Outage:
    start, end = t.clock_time("start"), t.clock_time("end")
    if start == end:
        raise t.error("end", "equals start: an outage window cannot be empty")
    response, no_reply = t.response("response"), t.flag()
    if response is not None and no_reply:
        raise t.error("no_reply", "cannot be combined with response")
    if response is None and not no_reply:
        raise t.error("", "an outage needs response or no_reply = true")
    return Outage(start, end, response, no_reply)


class _Table:
    """One TOML table being validated; knows where it is for the error messages."""

    def __init__(self, source: str, path: str, data: object, allowed: tuple[str, ...]) -> None:
        self.source, self.path = source, path
        if not isinstance(data, dict):
            raise RulesError(f"{source}: {path}: expected a table")
        self.data: dict[str, object] = data
        for key in data:
            if key not in allowed:
                raise self.error(key, f"unknown key (expected one of: {', '.join(allowed)})")

    def error(self, key: str, problem: str) -> RulesError:
        where = ".".join(p for p in (self.path, key) if p)
        return RulesError(f"{self.source}: {where}: {problem}")

    def table(self, key: str, allowed: tuple[str, ...]) -> _Table | None:
        if key not in self.data:
            return None
        return _Table(self.source, key, self.data[key], allowed)

    def array(self, key: str) -> list[_Table]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self.error(key, f"expected an array of tables ([[{key}]])")
        allowed = _ALLOWED[key]
        return [_Table(self.source, f"{key}[{i}]", v, allowed) for i, v in enumerate(value)]

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.error(key, "is required")
            return None
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {type(value).__name__}")
        return value

    def choice(self, key: str, options: list[str]) -> str | None:
        value = self.string(key)
        if value is not None and value not in options:
            raise self.error(key, f"{value!r} is not one of {'|'.join(options)}")
        return value

    def amount(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, f"expected an integer count of minor units, got {value!r}")
        if not 0 <= value <= _MAX_MINOR:
            raise self.error(key, f"{value} is outside 0..{_MAX_MINOR} minor units")
        return value

    def pin(self, key: str) -> str | None:
        value = self.string(key)
        # The message never echoes the value: it may be a real PIN.
        if value is not None and not (value.isdigit() and 4 <= len(value) <= 12):
            raise self.error(key, "is not a PIN of 4 to 12 digits")
        return value

    def zpk(self, key: str) -> Key | None:
        value = self.string(key)
        if value is None:
            return None
        # The message never echoes the value: it is a key.
        if len(value) not in (32, 48) or any(c not in "0123456789abcdefABCDEF" for c in value):
            raise self.error(
                key, "is not a double- or triple-length 3DES key (32 or 48 hex digits)"
            )
        return Key(bytes.fromhex(value))

    def response(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not _RESPONSE_RE.match(value):
            raise self.error(key, f"{value!r} is not a 2-character response code")
        return value

    def latency(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 600_000:
            raise self.error(key, f"{value!r} is not a whole number of milliseconds (0..600000)")
        return value

    def flag(self, key: str = "no_reply") -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def clock_time(self, key: str) -> time:
        value = self.data.get(key)
        if value is None:
            raise self.error(key, "is required")
        if isinstance(value, time):  # a bare TOML local time such as 23:00:00
            return value
        if isinstance(value, str) and (m := _HHMM_RE.match(value)):
            return time(int(m.group(1)), int(m.group(2)))
        raise self.error(key, f"{value!r} is not a time of day HH:MM")


_ALLOWED: dict[str, tuple[str, ...]] = {
    "cards": ("pan", "balance", "state", "pin"),
    "rules": (
        "pan",
        "pan_prefix",
        "min_amount",
        "max_amount",
        "kind",
        "tid",
        "response",
        "latency_ms",
        "no_reply",
        "lost_reply",
        "reversal_no_reply",
    ),
    "outages": ("start", "end", "response", "no_reply"),
}

"""The simulator's rules file: card overrides, matching rules and outage windows.

Parsed with the standard library's ``tomllib`` and validated by the pydantic models at the end
of this module (strict types, unknown keys refused); every problem is a :class:`RulesError`
naming the file, the table (with its array index) and the key::

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
from typing import Annotated, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    model_validator,
)

from possettle.cards import mask_pan
from possettle.crypto.keys import Key
from possettle.upstream.connector import AuthKind, AuthRequest
from possettle.upstream.errors import RulesError
from possettle.validation_messages import where

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
    try:
        file = RulesFile.model_validate(doc)
    except ValidationError as exc:
        raise RulesError("; ".join(f"{source}: {p}" for p in _problems(exc))) from None
    cards: dict[str, Card] = {}
    for i, c in enumerate(file.cards):
        if c.pan in cards:
            raise RulesError(
                f"{source}: cards[{i}].pan: {mask_pan(c.pan)!r} is listed twice in [[cards]]"
            )
        cards[c.pan] = Card(c.pan, c.balance, CardState(c.state), c.pin)
    d = file.defaults
    defaults = Defaults() if d is None else Defaults(d.balance, d.pin)
    state_file = None
    if file.state_file is not None:
        state_file = Path(file.state_file)
        if not state_file.is_absolute():
            state_file = Path(source).parent / state_file
    return Rules(
        defaults,
        cards,
        tuple(r.rule() for r in file.rules),
        tuple(Outage(o.start, o.end, o.response, o.no_reply) for o in file.outages),
        state_file=state_file,
        zpk=None if file.issuer is None or file.issuer.zpk is None else file.issuer.zpk,
    )


# --------------------------------------------------------------------------- the file's schema
#
# Pydantic models of the file as written (strict types, unknown keys refused); each value check
# raises today's words, and _problems() says each fault as "table[i].key: what is wrong". The
# models are turned into the frozen dataclasses above, which the simulator uses.


class _KeyProblem(ValueError):
    """A check across keys that blames one of them (``max_amount: 5 is below …``)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def _amount(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer count of minor units, got {value!r}")
    if not 0 <= value <= _MAX_MINOR:
        raise ValueError(f"{value} is outside 0..{_MAX_MINOR} minor units")
    return value


def _pin(value: object) -> str:
    text = _string(value)
    # The message never echoes the value: it may be a real PIN.
    if not (text.isdigit() and 4 <= len(text) <= 12):
        raise ValueError("is not a PIN of 4 to 12 digits")
    return text


def _pan(value: object) -> str:
    text = _string(value)
    if not text.isdigit() or not 12 <= len(text) <= 19:
        raise ValueError("is not a PAN of 12 to 19 digits")
    return text


def _zpk(value: object) -> Key:
    text = _string(value)
    # The message never echoes the value: it is a key.
    if len(text) not in (32, 48) or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ValueError("is not a double- or triple-length 3DES key (32 or 48 hex digits)")
    return Key(bytes.fromhex(text))


def _response(value: object) -> str:
    if not isinstance(value, str) or not _RESPONSE_RE.match(value):
        raise ValueError(f"{value!r} is not a 2-character response code")
    return value


def _latency(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 600_000:
        raise ValueError(f"{value!r} is not a whole number of milliseconds (0..600000)")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _clock_time(value: object) -> time:
    if isinstance(value, time):  # a bare TOML local time such as 23:00:00
        return value
    if isinstance(value, str) and (m := _HHMM_RE.match(value)):
        return time(int(m.group(1)), int(m.group(2)))
    raise ValueError(f"{value!r} is not a time of day HH:MM")


def _one_of(options: list[str]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in options:
            raise ValueError(f"{value!r} is not one of {'|'.join(options)}")
        return value

    return AfterValidator(check)


def _pan_prefix(value: str) -> str:
    if not (value.isdigit() and 1 <= len(value) <= 19):
        raise ValueError(f"{value!r} is not a prefix of 1 to 19 digits")
    return value


def _tid(value: str) -> str:
    if not 1 <= len(value) <= 8:
        raise ValueError(f"{value!r} is not a terminal id of 1 to 8 characters")
    return value


def _attempts(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise ValueError(f"{value!r} is not a count of attempts (0..100)")
    return value


def _not_empty(value: str) -> str:
    if not value:
        raise ValueError("is empty")
    return value


_Str = Annotated[str, BeforeValidator(_string)]
_Amount = Annotated[int, BeforeValidator(_amount)]
_Pin = Annotated[str, BeforeValidator(_pin)]
_Pan = Annotated[str, BeforeValidator(_pan)]
_Response = Annotated[str, BeforeValidator(_response)]
_Flag = Annotated[bool, BeforeValidator(_flag)]
_Time = Annotated[time, BeforeValidator(_clock_time)]


class _Schema(BaseModel):
    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, arbitrary_types_allowed=True
    )


class IssuerTable(_Schema):
    zpk: Annotated[Key, BeforeValidator(_zpk)] | None = None


class DefaultsTable(_Schema):
    balance: _Amount = DEFAULT_BALANCE
    pin: _Pin = DEFAULT_PIN


class CardEntry(_Schema):
    pan: _Pan
    balance: _Amount | None = None
    state: Annotated[_Str, _one_of([s.value for s in CardState])] = CardState.ACTIVE.value
    pin: _Pin | None = None


class RuleEntry(_Schema):
    pan: _Pan | None = None
    pan_prefix: Annotated[_Str, AfterValidator(_pan_prefix)] | None = None
    min_amount: _Amount | None = None
    max_amount: _Amount | None = None
    kind: Annotated[_Str, _one_of([k.value for k in AuthKind])] | None = None
    tid: Annotated[_Str, AfterValidator(_tid)] | None = None
    response: _Response | None = None
    latency_ms: Annotated[int, BeforeValidator(_latency)] | None = None
    no_reply: _Flag = False
    lost_reply: _Flag = False
    reversal_no_reply: Annotated[int, BeforeValidator(_attempts)] = 0

    @model_validator(mode="after")
    def _consistent(self) -> RuleEntry:
        lo, hi = self.min_amount, self.max_amount
        if lo is not None and hi is not None and lo > hi:
            raise _KeyProblem("max_amount", f"{hi} is below min_amount {lo}")
        if self.response is not None and self.no_reply:
            raise _KeyProblem("no_reply", "cannot be combined with response")
        if self.lost_reply and (self.response is not None or self.no_reply):
            raise _KeyProblem("lost_reply", "cannot be combined with response or no_reply")
        acts = (self.response, self.latency_ms)
        if acts == (None, None) and not (
            self.no_reply or self.lost_reply or self.reversal_no_reply
        ):
            raise ValueError(
                "a rule needs response, latency_ms, no_reply = true, lost_reply = true "
                "or reversal_no_reply"
            )
        return self

    def rule(self) -> Rule:
        return Rule(
            pan=self.pan,
            pan_prefix=self.pan_prefix,
            min_amount=self.min_amount,
            max_amount=self.max_amount,
            kind=AuthKind(self.kind) if self.kind else None,
            tid=self.tid,
            response=self.response,
            latency_ms=self.latency_ms or 0,
            no_reply=self.no_reply,
            lost_reply=self.lost_reply,
            reversal_no_reply=self.reversal_no_reply,
        )


class OutageEntry(_Schema):
    start: _Time
    end: _Time
    response: _Response | None = None
    no_reply: _Flag = False

    @model_validator(mode="after")
    def _consistent(self) -> OutageEntry:
        if self.start == self.end:
            raise _KeyProblem("end", "equals start: an outage window cannot be empty")
        if self.response is not None and self.no_reply:
            raise _KeyProblem("no_reply", "cannot be combined with response")
        if self.response is None and not self.no_reply:
            raise ValueError("an outage needs response or no_reply = true")
        return self


class RulesFile(_Schema):
    """A rules file as written: the tables and arrays of tables it may hold, in this order."""

    issuer: IssuerTable | None = None
    defaults: DefaultsTable | None = None
    cards: list[CardEntry] = []
    rules: list[RuleEntry] = []
    outages: list[OutageEntry] = []
    state_file: Annotated[_Str, AfterValidator(_not_empty)] | None = None


def _table_at(loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The schema model of the table at ``loc`` (``("rules", 2)`` → RuleEntry)."""
    model: type[BaseModel] = RulesFile
    for part in loc:
        if isinstance(part, int):
            continue
        inner = model.model_fields[part].annotation
        for arg in (inner, *get_args(inner), *(a for t in get_args(inner) for a in get_args(t))):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                model = arg
                break
    return model


def _problems(exc: ValidationError) -> list[str]:
    """Each fault as ``table[i].key: what is wrong``, in today's words."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, _KeyProblem):
            loc, what = (*loc, cause.key), str(cause)
        elif kind == "value_error":
            what = str(cause)
        elif kind == "extra_forbidden":
            allowed = ", ".join(_table_at(loc[:-1]).model_fields)
            what = f"unknown key (expected one of: {allowed})"
        elif kind == "missing":
            what = "is required"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            what = "expected a table"
        elif kind == "list_type":
            what = f"expected an array of tables ([[{loc[-1]}]])"
        else:  # pragma: no cover - every key has its own check above
            what = err["msg"]
        out.append(f"{where(loc)}: {what}" if loc else what)
    return out

"""The terminal's local rules: who may do what, up to which amount, and when.

A :class:`TerminalPolicy` is data, loaded from the terminal's TOML/JSON configuration with
:meth:`TerminalPolicy.from_dict` (keys left out keep their defaults). The ``check_*``
functions return ``None`` or raise :class:`~possettle.terminal.errors.Refused` with a stable
code (``permission.*``, ``limit.*``, ``hours.*``), so the terminal says no, with the reason,
before the host has to.

>>> policy = TerminalPolicy.from_dict({"business_hours": {"open": "08:00", "close": "02:00"}})
>>> str(policy.business_hours)
'08:00–02:00'

Times in the policy are local wall-clock times in ``timezone`` (default ``+08:00``, Beijing);
the clock hands out aware datetimes, which are converted before comparing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from datetime import timezone as fixed_offset
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from possettle.errors import ConfigError
from possettle.terminal.errors import Refused
from possettle.terminal.operators import Operator, Role
from possettle.terminal.validation import MAX_AMOUNT

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_OFFSET = re.compile(r"^([+-])([01][0-9]|2[0-3]):([0-5][0-9])$")


class Operation(StrEnum):
    SIGN_ON = "sign_on"
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    OFFLINE_SALE = "offline_sale"
    SETTLE = "settle"
    REPRINT = "reprint"
    BALANCE = "balance"

    @property
    def zh(self) -> str:
        return _OPERATION_ZH[self.value]


_OPERATION_ZH = {
    "sign_on": "签到",
    "sale": "消费",
    "void": "撤销",
    "refund": "退货",
    "offline_sale": "离线消费",
    "settle": "结算",
    "reprint": "重打印",
    "balance": "余额查询",
}


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """From ``start`` (inclusive) to ``end`` (exclusive), local time; wraps past midnight
    when ``end`` is earlier than ``start`` (``22:00–02:00``)."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            # "08:00–08:00" could mean all day or never: say "always" instead.
            raise ConfigError(f"time window {self} is empty; use 'always' for all day")

    def contains(self, t: time) -> bool:
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def next_start(self, local: datetime) -> datetime:
        """The first moment at or after ``local`` when the window opens."""
        at = datetime.combine(local.date(), self.start, local.tzinfo)
        return at if at >= local else at + timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class OfflineLimits:
    """Store-and-forward: the merchant carries the risk until the advice is accepted."""

    enabled: bool = True
    max_amount: int = 100_000  # 1,000.00 per offline sale
    max_count: int = 50  # offline sales waiting for upload
    max_total: int = 1_000_000  # 10,000.00 waiting for upload
    max_age_hours: int = 24  # older pending advices must go up first


def default_permissions() -> dict[Role, frozenset[Operation]]:
    # Cashiers may settle: a shop with only a cashier at closing time must still settle today.
    return {role: frozenset(Operation) for role in Role}


def default_limits() -> dict[Role, dict[Operation, int]]:
    return {
        Role.CASHIER: {
            Operation.SALE: 5_000_000,  # 50,000.00
            Operation.VOID: 500_000,  # 5,000.00
            Operation.REFUND: 100_000,  # 1,000.00
        },
        Role.SUPERVISOR: {Operation.REFUND: 5_000_000},  # 50,000.00
    }


def _default_settlement_window() -> TimeWindow | None:
    # Keep clear of the acquirer's business-day cut-over around midnight (39 = 90).
    return TimeWindow(time(0, 30), time(23, 30))


@dataclass(frozen=True)
class TerminalPolicy:
    timezone: str = "+08:00"
    business_hours: TimeWindow | None = None  # None: always open
    settlement_window: TimeWindow | None = field(default_factory=_default_settlement_window)
    permissions: Mapping[Role, frozenset[Operation]] = field(default_factory=default_permissions)
    limits: Mapping[Role, Mapping[Operation, int]] = field(default_factory=default_limits)
    offline: OfflineLimits = field(default_factory=OfflineLimits)

    def __post_init__(self) -> None:
        self.tz()
        for role, ops in self.limits.items():
            for op, limit in ops.items():
                _amount(limit, f"limits.{role}.{op}")
        for name in ("max_amount", "max_count", "max_total", "max_age_hours"):
            _amount(getattr(self.offline, name), f"offline.{name}")

    def tz(self) -> tzinfo:
        """``timezone`` as a tzinfo: ``+08:00``, ``UTC`` or an IANA name."""
        if self.timezone == "UTC":
            return UTC
        if m := _OFFSET.match(self.timezone):
            delta = timedelta(hours=int(m[2]), minutes=int(m[3]))
            return fixed_offset(-delta if m[1] == "-" else delta)
        try:
            return ZoneInfo(self.timezone)
        except (ValueError, LookupError) as exc:
            raise ConfigError(f"policy.timezone: unknown time zone {self.timezone!r}") from exc

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TerminalPolicy:
        """Read the policy from configuration; every error names its key."""
        _known(data, {f for f in cls.__dataclass_fields__}, "policy")
        base = cls()
        kw: dict[str, Any] = {}
        if "timezone" in data:
            kw["timezone"] = _typed(data["timezone"], str, "policy.timezone")
        windows = {"business_hours": ("open", "close"), "settlement_window": ("start", "end")}
        for key, names in windows.items():
            if key in data:
                kw[key] = _window(data[key], key, names)
        if "permissions" in data:
            perms = dict(base.permissions)
            for role, ops in _roles(data["permissions"], "permissions").items():
                ops = _typed(ops, list, f"policy.permissions.{role}")
                perms[role] = frozenset(_op(o, f"policy.permissions.{role}") for o in ops)
            kw["permissions"] = perms
        if "limits" in data:
            limits = dict(base.limits)
            for role, ops in _roles(data["limits"], "limits").items():
                where = f"policy.limits.{role}"
                limits[role] = {_op(o, where): v for o, v in _typed(ops, dict, where).items()}
            kw["limits"] = limits
        if "offline" in data:
            off = _typed(data["offline"], dict, "policy.offline")
            _known(off, set(OfflineLimits.__dataclass_fields__), "policy.offline")
            if "enabled" in off:
                _typed(off["enabled"], bool, "policy.offline.enabled")
            kw["offline"] = OfflineLimits(**off)
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain data (TOML/JSON); ``from_dict`` reads it back unchanged."""

        def window(w: TimeWindow | None, a: str, b: str) -> dict[str, str] | str:
            return "always" if w is None else {a: f"{w.start:%H:%M}", b: f"{w.end:%H:%M}"}

        return {
            "timezone": self.timezone,
            "business_hours": window(self.business_hours, "open", "close"),
            "settlement_window": window(self.settlement_window, "start", "end"),
            "permissions": {
                r.value: sorted(o.value for o in ops) for r, ops in self.permissions.items()
            },
            "limits": {
                r.value: {o.value: v for o, v in ops.items()} for r, ops in self.limits.items()
            },
            "offline": asdict(self.offline),
        }


def check_permission(policy: TerminalPolicy, operator: Operator, operation: Operation) -> None:
    if operation not in policy.permissions.get(operator.role, frozenset()):
        raise Refused(
            "permission.role",
            f"Operator {operator.id} ({operator.role.value}) is not allowed to "
            f"{operation.value.replace('_', ' ')} on this terminal.",
            f"操作员 {operator.id}（{operator.role.zh}）无权在本终端进行{operation.zh}。",
            operator_id=operator.id,
            role=operator.role.value,
            operation=operation.value,
        )


def check_amount(
    policy: TerminalPolicy, operator: Operator, operation: Operation, amount_minor: int
) -> None:
    """The per-role limit for ``operation`` (operations without a limit are capped at n12)."""
    if not 0 < amount_minor <= MAX_AMOUNT:
        raise Refused(
            "input.amount",
            f"The amount must be between 0.01 and {_fmt(MAX_AMOUNT)}, got {_fmt(amount_minor)}.",
            f"金额须在 0.01 至 {_fmt(MAX_AMOUNT)} 之间，当前为 {_fmt(amount_minor)}。",
            amount=amount_minor,
        )
    limit = policy.limits.get(operator.role, {}).get(operation)
    if limit is not None and amount_minor > limit:
        # A supervisor's limit is usually higher; past the supervisor's, only the policy can change.
        ask = operator.role is Role.CASHIER
        raise Refused(
            "limit.amount",
            f"{operation.value.replace('_', ' ').capitalize()} of {_fmt(amount_minor)} is over "
            f"the {operator.role.value} limit of {_fmt(limit)}"
            + ("; ask a supervisor." if ask else "."),
            f"{operation.zh}金额 {_fmt(amount_minor)} 元超过{operator.role.zh}限额 "
            f"{_fmt(limit)} 元" + ("，请联系主管。" if ask else "。"),
            operator_id=operator.id,
            role=operator.role.value,
            operation=operation.value,
            amount=amount_minor,
            limit=limit,
        )


def check_business_hours(policy: TerminalPolicy, now: datetime) -> None:
    _check_window(
        policy,
        policy.business_hours,
        now,
        "hours.closed",
        "Outside business hours ({w}); it is {now} now, opens at {start}.",
        "当前 {now} 不在营业时间（{w}）内，{start} 开始营业。",
    )


def check_settlement_window(policy: TerminalPolicy, now: datetime) -> None:
    """Settlement answers to this window, not to business hours: shops settle after closing."""
    _check_window(
        policy,
        policy.settlement_window,
        now,
        "hours.settle_window",
        "Settlement is allowed only between {w} (local time); it is {now} now, "
        "settle after {start}.",
        "仅可在 {w}（本地时间）结算，当前 {now}，请于 {start} 后结算。",
    )


def check_offline_allowed(
    policy: TerminalPolicy,
    amount: int,
    pending_count: int,
    pending_total: int,
    oldest_age: timedelta | None,
) -> None:
    """Whether one more offline sale of ``amount`` may be stored for later upload."""
    off = policy.offline
    if not off.enabled:
        raise Refused(
            "permission.offline",
            "Offline sales are not allowed on this terminal.",
            "本终端不允许离线消费。",
        )
    max_age = timedelta(hours=off.max_age_hours)
    checks: list[tuple[bool, str, str, str, dict[str, Any]]] = [
        (
            amount > off.max_amount,
            "limit.offline_amount",
            f"An offline sale may be at most {_fmt(off.max_amount)}, got {_fmt(amount)}.",
            f"离线消费单笔不能超过 {_fmt(off.max_amount)} 元，当前 {_fmt(amount)} 元。",
            {"amount": amount, "limit": off.max_amount},
        ),
        (
            oldest_age is not None and oldest_age > max_age,
            "limit.offline_age",
            f"Offline sales older than {off.max_age_hours} h are waiting for upload; "
            "go online and upload them first.",
            f"有超过 {off.max_age_hours} 小时未上送的离线交易，请先联机上送。",
            {"oldest_age_s": None if oldest_age is None else int(oldest_age.total_seconds())},
        ),
        (
            pending_count + 1 > off.max_count,
            "limit.offline_count",
            f"{pending_count} offline sales are waiting for upload (at most {off.max_count}); "
            "go online and upload them first.",
            f"已有 {pending_count} 笔离线交易未上送（上限 {off.max_count} 笔），请先联机上送。",
            {"pending_count": pending_count, "limit": off.max_count},
        ),
        (
            pending_total + amount > off.max_total,
            "limit.offline_total",
            f"Offline sales waiting for upload would total {_fmt(pending_total + amount)}, "
            f"over the limit of {_fmt(off.max_total)}; go online and upload them first.",
            f"未上送离线交易合计将达 {_fmt(pending_total + amount)} 元，超过上限 "
            f"{_fmt(off.max_total)} 元，请先联机上送。",
            {"pending_total": pending_total, "amount": amount, "limit": off.max_total},
        ),
    ]
    for failed, code, en, zh, details in checks:
        if failed:
            raise Refused(code, en, zh, **details)


def _fmt(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100:,}.{abs(minor) % 100:02d}"


def _check_window(
    policy: TerminalPolicy, w: TimeWindow | None, now: datetime, code: str, en: str, zh: str
) -> None:
    local = now.astimezone(policy.tz())
    if w is None or w.contains(local.time()):
        return
    words = {"w": str(w), "now": f"{local:%H:%M}", "start": f"{w.start:%H:%M}"}
    raise Refused(
        code,
        en.format(**words),
        zh.format(**words),
        now=local.isoformat(timespec="minutes"),
        start=f"{w.start:%H:%M}",
        end=f"{w.end:%H:%M}",
        opens_at=w.next_start(local).isoformat(timespec="minutes"),
    )


def _known(data: Mapping[str, Any], keys: set[str], where: str) -> None:
    unknown = sorted(set(data) - keys)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(keys)}")


def _typed(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def _amount(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AMOUNT:
        raise ConfigError(f"policy.{where}: expected a whole number 0..{MAX_AMOUNT}, got {value!r}")
    return value


def _op(value: Any, where: str) -> Operation:
    try:
        return Operation(value)
    except ValueError as exc:
        choices = [o.value for o in Operation]
        raise ConfigError(
            f"{where}: unknown operation {value!r}; expected one of {choices}"
        ) from exc


def _roles(value: Any, where: str) -> dict[Role, Any]:
    out: dict[Role, Any] = {}
    for name, item in _typed(value, dict, f"policy.{where}").items():
        try:
            out[Role(name)] = item
        except ValueError as exc:
            raise ConfigError(f"policy.{where}: unknown role {name!r}") from exc
    return out


def _window(value: Any, key: str, names: tuple[str, str]) -> TimeWindow | None:
    where = f"policy.{key}"
    if value == "always":
        return None
    _known(_typed(value, dict, where), set(names), where)
    times: list[time] = []
    for name in names:
        m = _HHMM.match(str(value.get(name, "")))
        if not m:
            raise ConfigError(f"{where}.{name}: expected HH:MM, got {value.get(name)!r}")
        times.append(time(int(m[1]), int(m[2])))
    try:
        return TimeWindow(times[0], times[1])
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc

"""The terminal policy: permissions, per-role limits, business hours, settlement window, offline."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import pytest

from possettle.errors import ConfigError
from possettle.terminal.errors import Refused
from possettle.terminal.operators import Operator, Role
from possettle.terminal.policy import (
    OfflineLimits,
    Operation,
    TerminalPolicy,
    TimeWindow,
    check_amount,
    check_business_hours,
    check_offline_allowed,
    check_permission,
    check_settlement_window,
)

BEIJING = timezone(timedelta(hours=8))
CASHIER = Operator("01", "Li Lei", Role.CASHIER)
SUPERVISOR = Operator("00", "Wang Fang", Role.SUPERVISOR)
DEFAULT = TerminalPolicy()
NIGHT_SHOP = TerminalPolicy.from_dict({"business_hours": {"open": "22:00", "close": "02:00"}})


def at(hhmm: str, day: int = 26) -> datetime:
    """A Beijing wall-clock time on 2026-11-``day``."""
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 11, day, h, m, tzinfo=BEIJING)


def code_of(fn: Any, *args: Any) -> str | None:
    try:
        fn(*args)
    except Refused as err:
        return err.code
    return None


def test_by_default_every_role_may_do_every_operation() -> None:
    for op in Operation:
        check_permission(DEFAULT, CASHIER, op)
        check_permission(DEFAULT, SUPERVISOR, op)


@pytest.mark.parametrize(
    ("operator", "operation", "code"),
    [
        (CASHIER, Operation.SALE, None),
        (CASHIER, Operation.REFUND, "permission.role"),
        (CASHIER, Operation.SETTLE, "permission.role"),
        (SUPERVISOR, Operation.REFUND, None),
        (SUPERVISOR, Operation.SETTLE, None),
        (SUPERVISOR, Operation.OFFLINE_SALE, "permission.role"),
    ],
)
def test_permissions_come_from_the_policy(
    operator: Operator, operation: Operation, code: str | None
) -> None:
    policy = TerminalPolicy.from_dict(
        {
            "permissions": {
                "cashier": ["sign_on", "sale", "void", "balance"],
                "supervisor": ["sign_on", "sale", "void", "refund", "settle"],
            }
        }
    )
    assert code_of(check_permission, policy, operator, operation) == code


def test_a_permission_refusal_names_the_operator_role_and_operation() -> None:
    policy = TerminalPolicy.from_dict({"permissions": {"cashier": ["sale"]}})
    with pytest.raises(Refused) as info:
        check_permission(policy, CASHIER, Operation.REFUND)
    assert info.value.details == {"operator_id": "01", "role": "cashier", "operation": "refund"}
    assert "refund" in info.value.en
    assert "退货" in info.value.zh


@pytest.mark.parametrize(
    ("operator", "operation", "amount", "code"),
    [
        (CASHIER, Operation.REFUND, 100_000, None),
        (CASHIER, Operation.REFUND, 100_001, "limit.amount"),
        (CASHIER, Operation.VOID, 500_000, None),
        (CASHIER, Operation.VOID, 500_001, "limit.amount"),
        (CASHIER, Operation.SALE, 5_000_000, None),
        (CASHIER, Operation.SALE, 5_000_001, "limit.amount"),
        (CASHIER, Operation.BALANCE, 999_999_999_999, None),
        (SUPERVISOR, Operation.REFUND, 5_000_000, None),
        (SUPERVISOR, Operation.REFUND, 5_000_001, "limit.amount"),
        (SUPERVISOR, Operation.SALE, 999_999_999_999, None),
        (SUPERVISOR, Operation.SALE, 1_000_000_000_000, "input.amount"),
        (SUPERVISOR, Operation.SALE, 0, "input.amount"),
        (CASHIER, Operation.SALE, -1, "input.amount"),
    ],
)
def test_default_amount_limits(
    operator: Operator, operation: Operation, amount: int, code: str | None
) -> None:
    assert code_of(check_amount, DEFAULT, operator, operation, amount) == code


def test_a_limit_refusal_carries_the_amount_and_the_limit() -> None:
    with pytest.raises(Refused) as info:
        check_amount(DEFAULT, CASHIER, Operation.REFUND, 250_000)
    assert info.value.details == {
        "operator_id": "01",
        "role": "cashier",
        "operation": "refund",
        "amount": 250_000,
        "limit": 100_000,
    }
    assert "2,500.00" in info.value.en
    assert "1,000.00" in info.value.zh


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (at("21:59"), "hours.closed"),
        (at("22:00"), None),
        (at("23:59"), None),
        (at("00:00"), None),
        (at("01:59"), None),
        (at("02:00"), "hours.closed"),
        (at("12:00"), "hours.closed"),
        (datetime(2026, 11, 26, 14, 30, tzinfo=UTC), None),  # 22:30 in Beijing
        (datetime(2026, 11, 26, 18, 0, tzinfo=UTC), "hours.closed"),  # 02:00 in Beijing
    ],
)
def test_business_hours_that_wrap_past_midnight(now: datetime, code: str | None) -> None:
    assert code_of(check_business_hours, NIGHT_SHOP, now) == code


def test_a_closed_shop_is_told_when_it_opens() -> None:
    with pytest.raises(Refused) as info:
        check_business_hours(NIGHT_SHOP, at("12:00"))
    assert info.value.details == {
        "now": "2026-11-26T12:00+08:00",
        "start": "22:00",
        "end": "02:00",
        "opens_at": "2026-11-26T22:00+08:00",
    }


@pytest.mark.parametrize("hhmm", ["00:00", "03:17", "12:00", "23:59"])
def test_by_default_the_shop_is_always_open(hhmm: str) -> None:
    check_business_hours(DEFAULT, at(hhmm))


@pytest.mark.parametrize(
    ("now", "code", "opens_at"),
    [
        (at("00:29"), "hours.settle_window", "2026-11-26T00:30+08:00"),
        (at("00:30"), None, None),
        (at("18:00"), None, None),
        (at("23:29"), None, None),
        (at("23:30"), "hours.settle_window", "2026-11-27T00:30+08:00"),
    ],
)
def test_the_default_settlement_window_keeps_clear_of_midnight(
    now: datetime, code: str | None, opens_at: str | None
) -> None:
    try:
        check_settlement_window(DEFAULT, now)
    except Refused as err:
        assert (err.code, err.details["opens_at"]) == (code, opens_at)
    else:
        assert code is None


def test_a_settlement_window_may_be_always() -> None:
    policy = TerminalPolicy.from_dict({"settlement_window": "always"})
    check_settlement_window(policy, at("23:59"))


@pytest.mark.parametrize(
    ("policy", "amount", "pending_count", "pending_total", "oldest_age", "code"),
    [
        (DEFAULT, 100_000, 0, 0, None, None),
        (DEFAULT, 100_000, 49, 900_000, timedelta(hours=24), None),
        (DEFAULT, 100_001, 0, 0, None, "limit.offline_amount"),
        (DEFAULT, 100, 50, 5_000, timedelta(hours=1), "limit.offline_count"),
        (DEFAULT, 60_000, 10, 950_000, timedelta(hours=1), "limit.offline_total"),
        (DEFAULT, 100, 1, 100, timedelta(hours=24, seconds=1), "limit.offline_age"),
        (
            TerminalPolicy(offline=OfflineLimits(enabled=False)),
            100,
            0,
            0,
            None,
            "permission.offline",
        ),
    ],
)
def test_offline_sales_are_allowed_within_the_offline_limits(
    policy: TerminalPolicy,
    amount: int,
    pending_count: int,
    pending_total: int,
    oldest_age: timedelta | None,
    code: str | None,
) -> None:
    args = (policy, amount, pending_count, pending_total, oldest_age)
    assert code_of(check_offline_allowed, *args) == code


def test_the_default_policy_round_trips_through_json() -> None:
    data = json.loads(json.dumps(DEFAULT.to_dict()))
    assert TerminalPolicy.from_dict(data) == DEFAULT


def test_a_policy_loads_from_toml_and_keeps_defaults_for_what_it_leaves_out() -> None:
    text = """
    timezone = "Asia/Shanghai"
    business_hours = { open = "08:30", close = "21:00" }
    settlement_window = "always"
    [limits.cashier]
    refund = 50000
    [offline]
    max_count = 10
    """
    policy = TerminalPolicy.from_dict(tomllib.loads(text))
    assert policy.business_hours == TimeWindow(time(8, 30), time(21, 0))
    assert policy.settlement_window is None
    assert policy.limits[Role.CASHIER] == {Operation.REFUND: 50_000}
    assert policy.limits[Role.SUPERVISOR] == DEFAULT.limits[Role.SUPERVISOR]
    assert policy.permissions == DEFAULT.permissions
    assert policy.offline == OfflineLimits(max_count=10)
    assert TerminalPolicy.from_dict(policy.to_dict()) == policy
    check_business_hours(policy, datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # 09:00 local


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"hours": "always"}, "policy: unknown key(s) ['hours']"),
        ({"business_hours": {"open": "8:00", "close": "22:00"}}, "business_hours.open"),
        ({"business_hours": {"open": "08:00", "close": "24:00"}}, "business_hours.close"),
        ({"business_hours": {"open": "08:00", "close": "08:00"}}, "use 'always'"),
        ({"business_hours": {"open": "08:00"}}, "business_hours.close"),
        ({"settlement_window": {"open": "08:00", "close": "22:00"}}, "settlement_window"),
        ({"business_hours": "never"}, "policy.business_hours: expected dict"),
        ({"permissions": {"cashier": ["sale", "refunds"]}}, "permissions.cashier"),
        ({"permissions": {"manager": ["sale"]}}, "unknown role 'manager'"),
        ({"permissions": {"cashier": "sale"}}, "policy.permissions.cashier: expected list"),
        ({"limits": {"cashier": {"refund": -1}}}, "policy.limits.cashier.refund"),
        ({"limits": {"cashier": {"refund": "100.00"}}}, "policy.limits.cashier.refund"),
        ({"limits": {"cashier": {"refund": True}}}, "policy.limits.cashier.refund"),
        ({"offline": {"max_total": 1.5}}, "policy.offline.max_total"),
        ({"offline": {"enabled": "yes"}}, "policy.offline.enabled"),
        ({"offline": {"max_days": 2}}, "policy.offline: unknown key(s) ['max_days']"),
        ({"timezone": "Mars/Olympus"}, "policy.timezone"),
        ({"timezone": 8}, "policy.timezone"),
    ],
)
def test_a_bad_policy_is_a_config_error_naming_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        TerminalPolicy.from_dict(data)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("tz", "utc_hour", "code"),
    [
        ("+08:00", 14, None),  # 22:00 local
        ("UTC", 14, "hours.closed"),
        ("UTC", 22, None),
        ("-05:00", 3, None),  # 22:00 the evening before
        ("Asia/Shanghai", 14, None),
    ],
)
def test_hours_are_compared_in_the_policy_time_zone(
    tz: str, utc_hour: int, code: str | None
) -> None:
    policy = TerminalPolicy.from_dict(
        {"timezone": tz, "business_hours": NIGHT_SHOP.to_dict()["business_hours"]}
    )
    now = datetime(2026, 11, 26, utc_hour, 0, tzinfo=UTC)
    assert code_of(check_business_hours, policy, now) == code

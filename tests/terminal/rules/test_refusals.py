"""Every refusal is bilingual, has a stable code, fits in the journal and never shows a PAN."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from possettle.cards import luhn_ok
from possettle.terminal.errors import Refused
from possettle.terminal.operators import Operator, OperatorStore, Role
from possettle.terminal.policy import (
    OfflineLimits,
    Operation,
    TerminalPolicy,
    check_amount,
    check_business_hours,
    check_offline_allowed,
    check_permission,
    check_settlement_window,
)
from possettle.terminal.validation import (
    check_expiry,
    check_pan,
    parse_amount,
    parse_original_ref,
)

from .conftest import CJK

CASHIER = Operator("01", "Li Lei", Role.CASHIER)
CODE = re.compile(r"^[a-z]+\.[a-z_]+$")
NOON = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
NO_REFUNDS = TerminalPolicy.from_dict({"permissions": {"cashier": ["sale"]}})
NIGHT_SHOP = TerminalPolicy.from_dict({"business_hours": {"open": "22:00", "close": "02:00"}})
OFFLINE_OFF = TerminalPolicy(offline=OfflineLimits(enabled=False))


def lock(store: OperatorStore) -> None:
    for _ in range(3):
        try:
            store.login("01", "0000")
        except Refused as err:
            last = err
    raise last


REFUSALS: dict[str, Callable[[OperatorStore], object]] = {
    "operator.unknown": lambda s: s.login("42", "1357"),
    "operator.bad_password": lambda s: s.login("01", "0000"),
    "operator.locked": lock,
    "operator.exists": lambda s: s.add("01", "Li Lei", Role.CASHIER, "2468"),
    "operator.weak_password": lambda s: s.add("02", "Han", Role.CASHIER, "12"),
    "input.operator_id": lambda s: s.add("1", "Han", Role.CASHIER, "2468"),
    "input.operator_name": lambda s: s.add("02", "", Role.CASHIER, "2468"),
    "permission.role/admin": lambda s: s.unlock(s.login("01", "1357"), "00"),
    "permission.role": lambda s: check_permission(NO_REFUNDS, CASHIER, Operation.REFUND),
    "permission.offline": lambda s: check_offline_allowed(OFFLINE_OFF, 1, 0, 0, None),
    "limit.amount": lambda s: check_amount(TerminalPolicy(), CASHIER, Operation.REFUND, 10**6),
    "limit.offline_amount": lambda s: check_offline_allowed(TerminalPolicy(), 10**6, 0, 0, None),
    "limit.offline_count": lambda s: check_offline_allowed(TerminalPolicy(), 1, 50, 0, None),
    "limit.offline_total": lambda s: check_offline_allowed(TerminalPolicy(), 1, 0, 10**6, None),
    "limit.offline_age": lambda s: check_offline_allowed(
        TerminalPolicy(), 1, 0, 0, timedelta(days=2)
    ),
    "hours.closed": lambda s: check_business_hours(NIGHT_SHOP, NOON),
    "hours.settle_window": lambda s: check_settlement_window(TerminalPolicy(), MIDNIGHT),
    "input.amount": lambda s: parse_amount("1.234"),
    "input.amount/range": lambda s: check_amount(TerminalPolicy(), CASHIER, Operation.SALE, 0),
    "input.pan": lambda s: check_pan("4111111111111112"),
    "input.expiry": lambda s: check_expiry("2501", NOON),
    "input.original": lambda s: parse_original_ref("0", "1"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_every_refusal_is_in_english_and_chinese_and_fits_the_journal(
    store: OperatorStore, case: str
) -> None:
    with pytest.raises(Refused) as info:
        REFUSALS[case](store)
    err = info.value
    assert err.code == case.split("/")[0]
    assert CODE.match(err.code)
    assert err.en.strip()
    assert err.en[0].isupper() or err.en[0].isdigit()
    assert err.zh.strip()
    assert CJK.search(err.zh), err.zh
    assert not CJK.search(err.en), err.en
    assert json.loads(json.dumps(err.as_dict(), ensure_ascii=False)) == err.as_dict()


@st.composite
def luhn_pans(draw: st.DrawFn) -> str:
    # Real PANs start with a non-zero issuer digit (ISO/IEC 7812); a PAN of leading zeros
    # such as 0000000000018 would be a valid amount (0.18), not a card typed in error.
    first = draw(st.sampled_from("123456789"))
    body = first + draw(st.text(alphabet="0123456789", min_size=11, max_size=17))
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def shown(err: Refused) -> str:
    """Everything of a refusal that can reach a screen, a log or the journal."""
    return " ".join([str(err), repr(err), err.en, err.zh, json.dumps(err.as_dict())])


def assert_no_clear_pan(err: Refused, pan: str) -> None:
    text = shown(err)
    assert pan not in text
    # first 6 and last 4 at most: never 11 digits in a row
    assert not re.search(r"[0-9]{11,}", text), text


@given(luhn_pans())
def test_a_luhn_valid_card_number_passes(pan: str) -> None:
    check_pan(pan)


@given(luhn_pans(), st.integers(min_value=1, max_value=9))
def test_a_mistyped_card_number_is_never_shown_in_clear(pan: str, delta: int) -> None:
    last = str((int(pan[-1]) + delta) % 10)
    too_long = pan.ljust(20, "0")
    for typed in (pan[:-1] + last, too_long, pan[:11], f" {pan}", pan[:4] + "-" + pan[4:]):
        with pytest.raises(Refused) as info:
            check_pan(typed)
        assert_no_clear_pan(info.value, pan)
        assert_no_clear_pan(info.value, typed.strip())


@given(luhn_pans())
def test_a_card_number_typed_into_another_field_is_never_shown_in_clear(pan: str) -> None:
    grouped = " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))
    attempts: list[Callable[[], Any]] = [
        lambda: parse_amount(pan),
        lambda: parse_amount(grouped),
        lambda: parse_amount(pan + ".00"),
        lambda: check_expiry(pan, NOON),
        lambda: parse_original_ref(pan, "1"),
        lambda: parse_original_ref("1", pan),
        lambda: parse_original_ref("1", "1", pan),
    ]
    for attempt in attempts:
        with pytest.raises(Refused) as info:
            attempt()
        assert_no_clear_pan(info.value, pan)
        assert re.sub(r"[^0-9]", "", pan) not in re.sub(r"[^0-9]", "", info.value.en)

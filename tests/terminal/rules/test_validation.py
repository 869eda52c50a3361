"""Input validation: amounts, card numbers, expiry dates, original-transaction references."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from possettle.terminal.errors import Refused
from possettle.terminal.validation import (
    OriginalRef,
    check_expiry,
    check_pan,
    parse_amount,
    parse_original_ref,
)

TODAY = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("12.34", 1234),
        ("0.01", 1),
        ("1", 100),
        ("1.5", 150),
        (" 7.00 ", 700),
        ("0012.30", 1230),
        ("9999999999.99", 999_999_999_999),
        ("00000000000001.00", 100),
    ],
)
def test_an_amount_is_parsed_into_minor_units(text: str, minor: int) -> None:
    assert parse_amount(text) == minor


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-1.00", "negative"),
        ("-0.01", "negative"),
        ("0", "zero"),
        ("0.00", "zero"),
        ("1.234", "decimals"),
        ("0.001", "decimals"),
        ("", "format"),
        ("abc", "format"),
        ("1,000.00", "format"),
        ("1e5", "format"),
        ("+5", "format"),
        (".5", "format"),
        ("5.", "format"),
        ("--5", "format"),
        ("１２", "format"),  # full-width digits from an IME
        ("٣", "format"),  # Arabic-Indic digit
        ("10000000000.00", "too_large"),
        ("1" * 5000, "too_large"),
    ],
)
def test_an_amount_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(Refused) as info:
        parse_amount(text)
    assert (info.value.code, info.value.details["reason"]) == ("input.amount", reason)


@pytest.mark.parametrize(
    "text", ["9999999999999999", "99999999999999.99", "123456789012345", "9999 9999 9999 9999"]
)
def test_a_large_amount_is_shown_as_typed_not_masked_like_a_card(text: str) -> None:
    with pytest.raises(Refused) as info:
        parse_amount(text)
    err = info.value
    assert err.details["reason"] in ("too_large", "format")
    assert text in err.en and text in err.zh
    assert "*" not in err.en + err.zh


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("6222021234567890128", "622202*********0128"),
        ("4111111111111111.00", "411111******1111.00"),
        ("x4111111111111111", "x411111******1111"),
        ("4111 1111 1111 1111", "411111******1111"),
    ],
)
def test_a_card_number_typed_as_an_amount_is_still_masked(text: str, shown: str) -> None:
    with pytest.raises(Refused) as info:
        parse_amount(text)
    err = info.value
    assert shown in err.en and shown in err.zh
    assert "4111111111111111" not in err.en + err.zh + str(err.details)
    assert "6222021234567890128" not in err.en + err.zh + str(err.details)


@pytest.mark.parametrize("pan", ["6222021234567890128", "4111111111111111", "6212345678901232"])
def test_a_valid_card_number_passes(pan: str) -> None:
    check_pan(pan)


@pytest.mark.parametrize(
    ("pan", "reason", "shown"),
    [
        ("4111111111111112", "luhn", "411111******1112"),
        ("6222021234567890127", "luhn", "622202*********0127"),
        ("4111-1111-1111-1111", "format", "4111-1*********1111"),
        ("4111 1111 1111 1111", "format", "4111 1*********1111"),
        ("", "format", ""),
        ("123456789012", "length", "********9012"),
        ("41111111111111111111", "length", "411111**********1111"),
    ],
)
def test_a_card_number_is_refused_and_shown_masked(pan: str, reason: str, shown: str) -> None:
    with pytest.raises(Refused) as info:
        check_pan(pan)
    err = info.value
    assert (err.code, err.details["reason"], err.details["pan"]) == ("input.pan", reason, shown)
    assert shown in err.en
    assert shown in err.zh


@pytest.mark.parametrize("yymm", ["2611", "2612", "2701", "9912"])
def test_a_card_is_valid_through_its_expiry_month(yymm: str) -> None:
    check_expiry(yymm, TODAY)


@pytest.mark.parametrize(
    ("yymm", "reason"),
    [
        ("2610", "expired"),
        ("2512", "expired"),
        ("0001", "expired"),
        ("2613", "month"),
        ("2600", "month"),
        ("261", "format"),
        ("26111", "format"),
        ("26a1", "format"),
        ("11/26", "format"),
        ("", "format"),
    ],
)
def test_an_expiry_date_is_refused_with_the_reason(yymm: str, reason: str) -> None:
    with pytest.raises(Refused) as info:
        check_expiry(yymm, TODAY)
    assert (info.value.code, info.value.details["reason"]) == ("input.expiry", reason)


@pytest.mark.parametrize(
    ("batch", "stan", "mmdd", "ref"),
    [
        ("1", "000123", None, OriginalRef(1, 123)),
        ("000001", "999999", "0228", OriginalRef(1, 999_999, "0228")),
        (999_999, 1, "1231", OriginalRef(999_999, 1, "1231")),
        ("12", "34", "0229", OriginalRef(12, 34, "0229")),  # a leap day, with no year given
    ],
)
def test_an_original_reference_is_parsed(
    batch: str | int, stan: str | int, mmdd: str | None, ref: OriginalRef
) -> None:
    assert parse_original_ref(batch, stan, mmdd) == ref


def test_an_original_reference_becomes_field_61() -> None:
    assert str(parse_original_ref("1", "123", "0228").field61()) == "0000010001230228"
    assert str(parse_original_ref("7", "8").field61()) == "000007000008"


@pytest.mark.parametrize(
    ("batch", "stan", "mmdd", "reason"),
    [
        ("0", "1", None, "batch"),
        ("000000", "1", None, "batch"),
        ("1000000", "1", None, "batch"),
        ("0000001", "1", None, "batch"),
        ("abc", "1", None, "batch"),
        ("-1", "1", None, "batch"),
        (-1, 1, None, "batch"),
        ("", "1", None, "batch"),
        ("1", "0", None, "stan"),
        ("1", 1_000_000, None, "stan"),
        ("1", "12 3", None, "stan"),
        ("1", "1", "1301", "date"),
        ("1", "1", "0001", "date"),
        ("1", "1", "0230", "date"),
        ("1", "1", "0431", "date"),
        ("1", "1", "123", "date"),
        ("1", "1", "", "date"),
        ("1", "1", "02-28", "date"),
    ],
)
def test_an_original_reference_is_refused_with_the_field_at_fault(
    batch: str | int, stan: str | int, mmdd: str | None, reason: str
) -> None:
    with pytest.raises(Refused) as info:
        parse_original_ref(batch, stan, mmdd)
    assert (info.value.code, info.value.details["reason"]) == ("input.original", reason)

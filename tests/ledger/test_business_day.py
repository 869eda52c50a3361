"""The business-day cut-over (日切): which clearing date an instant belongs to."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from possettle.clock import FixedClock
from possettle.errors import ConfigError
from possettle.ledger.business_day import BusinessDay, parse_cutover

BEIJING = ZoneInfo("Asia/Shanghai")


def at(y: int, mo: int, d: int, h: int, mi: int, s: int) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        # a plain day
        (at(2026, 12, 7, 22, 59, 59), date(2026, 12, 7)),
        (at(2026, 12, 7, 23, 0, 0), date(2026, 12, 8)),
        (at(2026, 12, 7, 23, 59, 59), date(2026, 12, 8)),
        (at(2026, 12, 8, 0, 0, 1), date(2026, 12, 8)),
        # a month end (30 November)
        (at(2026, 11, 30, 22, 59, 59), date(2026, 11, 30)),
        (at(2026, 11, 30, 23, 0, 0), date(2026, 12, 1)),
        (at(2026, 11, 30, 23, 59, 59), date(2026, 12, 1)),
        (at(2026, 12, 1, 0, 0, 1), date(2026, 12, 1)),
        # a year end
        (at(2026, 12, 31, 22, 59, 59), date(2026, 12, 31)),
        (at(2026, 12, 31, 23, 0, 0), date(2027, 1, 1)),
        (at(2026, 12, 31, 23, 59, 59), date(2027, 1, 1)),
        (at(2027, 1, 1, 0, 0, 1), date(2027, 1, 1)),
    ],
)
def test_the_default_cutover_is_2300_beijing(local: datetime, expected: date) -> None:
    day = BusinessDay()
    assert day.clearing_date(local) == expected
    assert day.clearing_date(local.astimezone(UTC)) == expected  # the instant, not its zone


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (at(2026, 12, 31, 22, 59, 59), date(2026, 12, 31)),
        (at(2026, 12, 31, 23, 0, 0), date(2026, 12, 31)),
        (at(2026, 12, 31, 23, 59, 59), date(2026, 12, 31)),
        (at(2027, 1, 1, 0, 0, 1), date(2027, 1, 1)),
        (at(2026, 11, 30, 23, 59, 59), date(2026, 11, 30)),
        (at(2026, 12, 1, 0, 0, 0), date(2026, 12, 1)),
    ],
)
def test_a_midnight_cutover_is_the_local_calendar_day(local: datetime, expected: date) -> None:
    assert BusinessDay(cutover=time(0, 0)).clearing_date(local) == expected


def test_zone_and_cutover_are_configurable() -> None:
    day = BusinessDay.parse("22:30", "UTC")
    assert day == BusinessDay("UTC", time(22, 30))
    assert day.clearing_date(datetime(2026, 12, 31, 22, 29, 59, tzinfo=UTC)) == date(2026, 12, 31)
    assert day.clearing_date(datetime(2026, 12, 31, 22, 30, tzinfo=UTC)) == date(2027, 1, 1)


def test_today_reads_the_injected_clock() -> None:
    clock = FixedClock(datetime(2026, 12, 31, 14, 59, 59, tzinfo=UTC))  # 22:59:59 Beijing
    day = BusinessDay()
    assert day.today(clock) == date(2026, 12, 31)
    clock.advance(1)
    assert day.today(clock) == date(2027, 1, 1)


@pytest.mark.parametrize("text", ["23", "24:00", "23:60", "2300", "7:00", "aa:bb", ""])
def test_a_bad_cutover_is_a_config_error_naming_the_option(text: str) -> None:
    with pytest.raises(ConfigError, match="--cutover"):
        parse_cutover(text)


def test_an_unknown_zone_is_a_config_error_naming_the_option() -> None:
    with pytest.raises(ConfigError, match="--timezone"):
        BusinessDay("Mars/Olympus")
    with pytest.raises(ConfigError, match="HH:MM"):
        BusinessDay(cutover=time(23, 0, 30))


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        BusinessDay().clearing_date(datetime(2026, 12, 31, 23, 0))

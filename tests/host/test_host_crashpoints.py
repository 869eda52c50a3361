"""Host crash points are no-ops unless named, and a misspelt name is an error at start."""

from __future__ import annotations

import pytest

from possettle.errors import ConfigError
from possettle.host.crashpoints import POINTS, HostCrashPoints


def test_without_the_variable_every_point_is_a_no_op() -> None:
    died: list[str] = []
    points = HostCrashPoints(HostCrashPoints.from_env({}).target, die=lambda: died.append("x"))
    for name in POINTS:
        points.hit(name)
    assert died == []


def test_the_named_point_kills_on_its_nth_pass_only() -> None:
    died: list[int] = []
    target = HostCrashPoints.from_env({"POSSETTLE_HOST_CRASH_AT": "reversal.claimed:2"}).target
    points = HostCrashPoints(target, die=lambda: died.append(1))
    points.hit("reversal.answered")
    points.hit("reversal.claimed")
    assert died == []
    points.hit("reversal.claimed")
    assert died == [1]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("reversal.claim", "no host crash point 'reversal.claim'"),
        ("reversal.claimed:0", "the count after ':' must be a positive integer"),
        ("reversal.claimed:x", "the count after ':' must be a positive integer"),
    ],
)
def test_a_bad_crash_point_is_a_config_error(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        HostCrashPoints.from_env({"POSSETTLE_HOST_CRASH_AT": value})


def test_an_undeclared_point_in_the_code_is_our_bug() -> None:
    with pytest.raises(ValueError, match="undeclared host crash point"):
        HostCrashPoints().hit("nowhere")

"""Pins the public names of the rules modules, so a change to them is deliberate."""

from __future__ import annotations

from types import ModuleType

import pytest

from possettle.terminal import operators, policy, validation


def public_names(module: ModuleType) -> list[str]:
    """What ``module`` defines itself, and its upper-case str/int constants."""
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (
            getattr(value, "__module__", None) == module.__name__
            or (name.isupper() and isinstance(value, str | int))
        )
    )


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (
            operators,
            [
                "DEFAULT_SCRYPT",
                "MAX_NAME",
                "MAX_PASSWORD",
                "MIN_PASSWORD",
                "OPERATOR_SCHEMA",
                "Operator",
                "OperatorStore",
                "Password",
                "Role",
                "ScryptParams",
                "check_password_policy",
                "hash_password",
                "verify_password",
            ],
        ),
        (
            policy,
            [
                "MAX_AMOUNT",
                "OfflineLimits",
                "Operation",
                "TerminalPolicy",
                "TimeWindow",
                "check_amount",
                "check_business_hours",
                "check_offline_allowed",
                "check_permission",
                "check_settlement_window",
                "default_limits",
                "default_permissions",
            ],
        ),
        (
            validation,
            [
                "MAX_AMOUNT",
                "OriginalRef",
                "check_expiry",
                "check_pan",
                "check_pin",
                "check_rrn",
                "parse_amount",
                "parse_original_ref",
            ],
        ),
    ],
)
def test_public_names_of_the_rules_modules_are_pinned(module: ModuleType, names: list[str]) -> None:
    assert public_names(module) == names

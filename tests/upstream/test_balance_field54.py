"""An issuer's balance in field 54 (ISO 8583:1987 additional amounts), read by the connector."""

from __future__ import annotations

import pytest

from possettle.upstream.mapping import auth_result, balance_of


@pytest.mark.parametrize(
    ("field54", "balance"),
    [
        ("0002156C000000012345", 12345),  # available balance
        ("0001156C000000099999", 99999),  # only the ledger balance: that one
        ("0001156C0000000999990002156D000000000500", -500),  # available wins, owed
        ("0002156C00000001234", None),  # 19 characters: unreadable, no balance
        ("0002156X000000012345", None),  # neither C nor D
        ("0003156C000000012345", None),  # an amount that is no balance
    ],
)
def test_the_available_balance_is_read_from_field_54(field54: str, balance: int | None) -> None:
    assert balance_of({"39": "00", "54": field54}) == balance
    assert auth_result({"t": "0210", "39": "00", "54": field54}).balance == balance


def test_a_reply_without_field_54_has_no_balance() -> None:
    assert auth_result({"t": "0210", "39": "00", "38": "123456"}).balance is None

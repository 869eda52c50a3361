"""Shared constants and the request factory for the upstream tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from possettle.crypto.keys import Key
from possettle.crypto.pin import encrypt_pin_block
from possettle.money import Money
from possettle.upstream import AuthKind, AuthRequest

PAN = "6222021234567890128"  # Luhn-valid CUP test card
NOW = datetime(2026, 11, 26, 8, 30, 15, tzinfo=UTC)
ZPK = Key.from_hex("0123456789ABCDEFFEDCBA9876543210")  # the zone PIN key the tests share

MakeRequest = Callable[..., AuthRequest]


def request_factory() -> MakeRequest:
    """Requests with fresh STAN and RRN on every call; keyword arguments override fields.

    ``pin="123456"`` stands for the PIN block of that PIN under ``zpk`` (default :data:`ZPK`),
    as the host would hand it over after translating the terminal's field 52.
    """
    counter = iter(range(1, 1_000_000))

    def make(kind: AuthKind = AuthKind.SALE, amount: int = 10_000, **kw: Any) -> AuthRequest:
        n = next(counter)
        fields: dict[str, Any] = {
            "kind": kind,
            "pan": PAN,
            "expiry": "2812",
            "amount": Money(amount),
            "stan": f"{n:06d}",
            "rrn": f"{n:012d}",
            "tid": "12345678",
            "mid": "123456789012345",
            "local_time": datetime(2026, 11, 26, 16, 30, 15),
        }
        zpk = kw.pop("zpk", ZPK)
        if "pin" in kw:
            kw["pin_block"] = encrypt_pin_block(zpk, kw.pop("pin"), kw.get("pan", PAN))
        fields.update(kw)
        return AuthRequest(**fields)

    return make

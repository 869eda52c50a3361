"""Documents the printer tests share: one merchant, one terminal, one card."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from possettle.cards import CardOrg
from possettle.iso8583.fields import HalfTotals, SettlementTotals, SettleResult
from possettle.money import Money
from possettle.terminal.printer.documents import (
    Copy,
    Receipt,
    ReceiptKind,
    SettlementSlip,
    SlipOutcome,
)

PAN = "6222021234567890128"  # Luhn-valid CUP test card
WHEN = datetime(2026, 11, 26, 8, 30, 15, tzinfo=UTC)


def receipt(pan: str = PAN, **changes: object) -> Receipt:
    base = Receipt(
        kind=ReceiptKind.SALE,
        copy=Copy.MERCHANT,
        merchant_name="Test Shop",
        mid="898310048160001",
        tid="10000001",
        operator="01",
        batch=1,
        stan=123,
        when=WHEN,
        card_org=CardOrg.CUP,
        pan_last4=pan,
        amount=Money(123456),
        rrn="112233445566",
        auth_code="A1B2C3",
    )
    return replace(base, **changes)


def half(
    debit: tuple[int, int] = (0, 0),
    credit: tuple[int, int] = (0, 0),
    result: SettleResult = SettleResult.BALANCED,
) -> HalfTotals:
    """(count, amount) pairs, in the order a person reads them on the slip."""
    return HalfTotals(
        debit_amount=debit[1],
        debit_count=debit[0],
        credit_amount=credit[1],
        credit_count=credit[0],
        result=result,
    )


def slip(
    domestic: HalfTotals | None = None,
    foreign: HalfTotals | None = None,
    outcome: SlipOutcome = SlipOutcome.BALANCED,
    **changes: object,
) -> SettlementSlip:
    base = SettlementSlip(
        merchant_name="Test Shop",
        mid="898310048160001",
        tid="10000001",
        operator="01",
        batch=1,
        when=WHEN,
        totals=SettlementTotals(
            domestic if domestic is not None else half((3, 123456), (1, 1000)),
            foreign if foreign is not None else half(),
        ),
        outcome=outcome,
    )
    return replace(base, **changes)

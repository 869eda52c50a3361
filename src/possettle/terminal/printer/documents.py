"""What the terminal prints, as typed values that know nothing about printers.

A :class:`Receipt` (sale, void, refund, offline sale) and a :class:`SettlementSlip` are built
once by the terminal core, rendered by :mod:`possettle.terminal.printer.layout`, and — when the
printer is out of paper or offline — kept in the journal as :meth:`~Receipt.to_dict` so that
``possettle terminal reprint`` prints the very same bytes later with :func:`document_from_dict`.

A receipt never holds card data it must not print: whatever PAN form it is given (clear,
first-6/last-4 masked, ``**** 1234``) it keeps the last 4 digits only, so neither a render
nor a journal row can leak the rest.

>>> from datetime import UTC, datetime
>>> r = Receipt(kind=ReceiptKind.SALE, copy=Copy.MERCHANT, merchant_name="Shop", mid="M" * 15,
...             tid="T" * 8, operator="01", batch=1, stan=7, when=datetime(2026, 1, 2, tzinfo=UTC),
...             card_org=CardOrg.CUP, pan_last4="6222021234567890128", amount=Money(100))
>>> r.pan_last4
'0128'
>>> document_from_dict(r.to_dict()) == r
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from possettle.cards import CardOrg
from possettle.iso8583.fields import HalfTotals, SettlementTotals, SettleResult
from possettle.money import CNY, Money
from possettle.terminal.printer.dictform import FORMAT_VERSION, DictReader, DocumentError

__all__ = [
    "FORMAT_VERSION",
    "Copy",
    "Document",
    "DocumentError",
    "Receipt",
    "ReceiptKind",
    "SettlementSlip",
    "SlipOutcome",
    "document_from_dict",
    "keep_last4",
]

_MASK_CHARS = frozenset("0123456789*Xx")


class ReceiptKind(StrEnum):
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    OFFLINE_SALE = "offline_sale"


class Copy(StrEnum):
    """Which copy of a receipt: the cardholder's or the one the merchant keeps and has signed."""

    CUSTOMER = "customer"
    MERCHANT = "merchant"


class SlipOutcome(StrEnum):
    """How a settlement ended; values are the journal's ``SettleResultKind`` strings.

    The slip is printed after the upload end (protocol §4), so an unbalanced batch has
    already had its detail uploaded when its slip says so.
    """

    BALANCED = "balanced"
    UPLOADED = "balanced_after_upload"  # out of balance, batch detail uploaded
    ALREADY_SETTLED = "already_settled"  # 0500 answered 94: the host had closed the batch


def keep_last4(pan: str) -> str:
    """The last 4 digits of a clear or masked PAN; the error text never shows the input."""
    compact = pan.replace(" ", "").replace("-", "")
    if len(compact) < 4 or not compact[-4:].isdigit() or not set(compact) <= _MASK_CHARS:
        raise DocumentError(
            f"pan_last4: expected a PAN, a masked PAN or 4 digits "
            f"(got {len(pan)} characters; value not shown)"
        )
    return compact[-4:]


def _check_seq(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not 0 <= value <= 999_999):
        raise DocumentError(f"{name} {value!r} is outside 0..999999 (n6)")


def _check_when(when: datetime) -> None:
    if when.tzinfo is None:
        # The dict form stores an ISO time with its offset; a naive time would reprint wrong.
        raise DocumentError("when must be timezone-aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """One copy of a transaction receipt (签购单).

    ``pan_last4`` accepts any PAN form and keeps only its last 4 digits. ``when`` is printed
    as its own wall-clock time: convert it to the merchant's time zone before building.
    ``original_stan`` (void) and ``original_rrn`` (refund) name the transaction undone.
    """

    kind: ReceiptKind
    copy: Copy
    merchant_name: str
    mid: str
    tid: str
    operator: str
    batch: int
    stan: int
    when: datetime
    card_org: CardOrg
    pan_last4: str
    amount: Money
    rrn: str | None = None
    auth_code: str | None = None
    original_stan: int | None = None
    original_rrn: str | None = None
    reprint: bool = False
    #: from the host at sign-on (possettle's extension); None on terminals it never sent one
    merchant_address: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pan_last4", keep_last4(self.pan_last4))
        for name in ("batch", "stan", "original_stan"):
            _check_seq(name, getattr(self, name))
        _check_when(self.when)
        if not self.mid or not self.tid:
            raise DocumentError("mid and tid must not be empty")

    def as_reprint(self) -> Self:
        """The same receipt marked REPRINT (重打印), for a copy printed again on request."""
        return replace(self, reprint=True)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form for the journal; :func:`document_from_dict` reverses it."""
        return {
            "type": "receipt",
            "version": FORMAT_VERSION,
            "kind": self.kind.value,
            "copy": self.copy.value,
            "merchant_name": self.merchant_name,
            "mid": self.mid,
            "tid": self.tid,
            "operator": self.operator,
            "batch": self.batch,
            "stan": self.stan,
            "when": self.when.isoformat(),
            "card_org": self.card_org.value,
            "pan_last4": self.pan_last4,
            "amount": self.amount.minor,
            "currency": self.amount.currency,
            "rrn": self.rrn,
            "auth_code": self.auth_code,
            "original_stan": self.original_stan,
            "original_rrn": self.original_rrn,
            "reprint": self.reprint,
            "merchant_address": self.merchant_address,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Receipt:
        r = DictReader(data, "receipt")
        return cls(
            kind=r.choice("kind", ReceiptKind),
            copy=r.choice("copy", Copy),
            merchant_name=r.text("merchant_name"),
            mid=r.text("mid"),
            tid=r.text("tid"),
            operator=r.text("operator"),
            batch=r.integer("batch"),
            stan=r.integer("stan"),
            when=r.when(),
            card_org=r.choice("card_org", CardOrg),
            pan_last4=r.text("pan_last4"),
            amount=r.money(),
            rrn=r.opt_text("rrn"),
            auth_code=r.opt_text("auth_code"),
            original_stan=r.opt_integer("original_stan"),
            original_rrn=r.opt_text("original_rrn"),
            reprint=r.flag("reprint"),
            merchant_address=r.absent_or_text("merchant_address"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlementSlip:
    """The settlement slip (结算单) printed once a batch is closed.

    ``totals`` holds the terminal's figures with the host's result digit in each half
    (:meth:`HalfTotals.with_result`); a half left at ``REQUEST`` prints as not checked,
    which is what a batch the host had already closed (``ALREADY_SETTLED``) looks like.
    """

    merchant_name: str
    mid: str
    tid: str
    operator: str
    batch: int
    when: datetime
    totals: SettlementTotals
    outcome: SlipOutcome
    currency: str = CNY
    reprint: bool = False
    merchant_address: str | None = None

    def __post_init__(self) -> None:
        _check_seq("batch", self.batch)
        _check_when(self.when)
        for name, half in (("domestic", self.totals.domestic), ("foreign", self.totals.foreign)):
            _check_half(name, half)
        halves = (self.totals.domestic.result, self.totals.foreign.result)
        if self.outcome is SlipOutcome.BALANCED and any(
            h in (SettleResult.UNBALANCED, SettleResult.ERROR) for h in halves
        ):
            raise DocumentError("outcome is balanced but a half of the totals is not")

    def as_reprint(self) -> Self:
        """The same slip marked REPRINT (重打印), for a copy printed again on request."""
        return replace(self, reprint=True)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form for the journal; :func:`document_from_dict` reverses it."""
        return {
            "type": "settlement_slip",
            "version": FORMAT_VERSION,
            "merchant_name": self.merchant_name,
            "mid": self.mid,
            "tid": self.tid,
            "operator": self.operator,
            "batch": self.batch,
            "when": self.when.isoformat(),
            "domestic": _half_to_dict(self.totals.domestic),
            "foreign": _half_to_dict(self.totals.foreign),
            "outcome": self.outcome.value,
            "currency": self.currency,
            "reprint": self.reprint,
            "merchant_address": self.merchant_address,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SettlementSlip:
        r = DictReader(data, "settlement_slip")
        return cls(
            merchant_name=r.text("merchant_name"),
            mid=r.text("mid"),
            tid=r.text("tid"),
            operator=r.text("operator"),
            batch=r.integer("batch"),
            when=r.when(),
            totals=SettlementTotals(r.half("domestic"), r.half("foreign")),
            outcome=r.choice("outcome", SlipOutcome),
            currency=r.text("currency"),
            reprint=r.flag("reprint"),
            merchant_address=r.absent_or_text("merchant_address"),
        )


Document = Receipt | SettlementSlip


def document_from_dict(data: Mapping[str, Any]) -> Document:
    """The document a journal row holds, whichever kind it is."""
    kind = data.get("type")
    if kind == "receipt":
        return Receipt.from_dict(data)
    if kind == "settlement_slip":
        return SettlementSlip.from_dict(data)
    raise DocumentError(f"type {kind!r} is neither 'receipt' nor 'settlement_slip'")


def _check_half(name: str, half: HalfTotals) -> None:
    """Amounts within n12; counts are the journal's full counts (field 48 carries them mod
    1000, see docs/protocol.md), bounded by the trace-number range."""
    for what, value, top in (
        ("debit_amount", half.debit_amount, 999_999_999_999),
        ("debit_count", half.debit_count, 999_999),
        ("credit_amount", half.credit_amount, 999_999_999_999),
        ("credit_count", half.credit_count, 999_999),
    ):
        if not 0 <= value <= top:
            raise DocumentError(f"{name}.{what} {value} is outside 0..{top}")


def _half_to_dict(half: HalfTotals) -> dict[str, Any]:
    return {
        "debit_count": half.debit_count,
        "debit_amount": half.debit_amount,
        "credit_count": half.credit_count,
        "credit_amount": half.credit_amount,
        "result": half.result.name.lower(),
    }

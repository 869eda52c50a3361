"""The common typed row of a wallet bill, and what reading one bill returns.

Money is integer fen, signed from the merchant's side: a payment's amount is positive, a
refund's negative; a fee the wallet charges is positive, a fee it gives back on a refund is
negative. Times are the bill's own wall-clock times (China time, naive).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Wallet(enum.Enum):
    ALIPAY = "alipay"
    WECHAT = "wechat"


class TradeType(enum.Enum):
    PAYMENT = "payment"
    REFUND = "refund"


@dataclass(frozen=True)
class BillRow:
    """One detail row of a wallet bill.

    ``trade_no`` is our ``out_trade_no`` (商户订单号); ``wallet_txn_id`` the wallet's own
    transaction number; ``refund_no`` the refund request number on a refund row.
    """

    wallet: Wallet
    line: int
    trade_no: str
    wallet_txn_id: str
    time: datetime
    type: TradeType
    amount_fen: int
    settled_fen: int
    fee_fen: int
    refund_fen: int
    status: str
    refund_no: str | None = None
    store_id: str | None = None
    store_name: str | None = None
    terminal_id: str | None = None


@dataclass(frozen=True)
class BadLine:
    """A line of a readable bill that could not be read; the other lines still are."""

    file: str
    line: int
    byte_offset: int
    column: str | None
    message: str
    text: str

    def __str__(self) -> str:
        where = f"{self.file}: line {self.line} (byte {self.byte_offset})"
        field = f", column {self.column}" if self.column else ""
        return f"{where}{field}: {self.message}"


@dataclass(frozen=True)
class BillTotals:
    """Counts and sums over a bill, either as the bill's summary states them or as computed
    from its detail rows; the two are compared field by field."""

    row_count: int
    payment_count: int
    refund_count: int
    amount_fen: int
    settled_fen: int
    refund_fen: int
    fee_fen: int


@dataclass(frozen=True)
class Mismatch:
    """A total the bill's summary states that its detail rows do not add up to."""

    field: str
    summary: int
    detail: int

    def __str__(self) -> str:
        return f"summary {self.field} is {self.summary}, the detail rows add up to {self.detail}"


@dataclass(frozen=True)
class BillResult:
    """One bill read: its rows, its summary, and everything that did not tie out."""

    wallet: Wallet
    file: str
    rows: tuple[BillRow, ...]
    summary: BillTotals | None
    detail: BillTotals
    mismatches: tuple[Mismatch, ...]
    bad_lines: tuple[BadLine, ...]

    @property
    def complete(self) -> bool:
        """True when every line was read and the summary ties out to the detail."""
        return not self.bad_lines and not self.mismatches and self.summary is not None

    @property
    def read_in_part(self) -> bool:
        """True when some lines could not be read (the good rows are still in ``rows``)."""
        return bool(self.bad_lines)


def detail_totals(rows: tuple[BillRow, ...]) -> BillTotals:
    """The totals of ``rows`` in the same terms as a summary."""
    return BillTotals(
        row_count=len(rows),
        payment_count=sum(1 for r in rows if r.type is TradeType.PAYMENT),
        refund_count=sum(1 for r in rows if r.type is TradeType.REFUND),
        amount_fen=sum(r.amount_fen for r in rows),
        settled_fen=sum(r.settled_fen for r in rows),
        refund_fen=sum(r.refund_fen for r in rows),
        fee_fen=sum(r.fee_fen for r in rows),
    )


def compare(
    summary: BillTotals, detail: BillTotals, fields: tuple[str, ...]
) -> tuple[Mismatch, ...]:
    """The ``fields`` on which ``summary`` and ``detail`` differ."""
    return tuple(
        Mismatch(name, getattr(summary, name), getattr(detail, name))
        for name in fields
        if getattr(summary, name) != getattr(detail, name)
    )

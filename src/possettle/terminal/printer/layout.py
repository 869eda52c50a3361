"""How a document looks on paper: bilingual labels, fixed columns, amounts like CNY 1,234.56.

:func:`document_lines` lays a document out as styled :class:`Line` values, which both the
plain-text form (:func:`render_text`) and the ESC/POS job are made from, so the two never
disagree. Widths count display columns: a Chinese character takes two on a receipt printer,
as in a terminal.

Everything a caller supplied passes through :func:`_clean` first: control characters
become ``?``, so a merchant name cannot smuggle an ESC/POS command (a cut, a drawer kick)
into the job. Labels use ASCII punctuation only (``-``, not ``–``): the dash's width is
ambiguous in East Asian fonts and would shift the columns.

>>> from possettle.money import Money
>>> format_amount(Money(123456))
'CNY 1,234.56'
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from possettle.cards import last4
from possettle.iso8583.fields import HalfTotals, SettleResult
from possettle.money import Money
from possettle.terminal.printer.documents import (
    Copy,
    Document,
    Receipt,
    ReceiptKind,
    SettlementSlip,
    SlipOutcome,
)

# ISO 4217 numeric → alpha, for the currencies possettle.money knows the exponent of
_CURRENCY_ALPHA = {"156": "CNY", "344": "HKD", "392": "JPY", "840": "USD", "978": "EUR"}


class PaperWidth(IntEnum):
    """Characters per line of font A: 58 mm paper holds 32, 80 mm paper 42."""

    MM58 = 32
    MM80 = 42


class Align(StrEnum):
    """Values are python-escpos's ``set(align=...)`` names."""

    LEFT = "left"
    CENTER = "center"


@dataclass(frozen=True, slots=True)
class Line:
    """One printed line: ``text`` fits the width; centring is left to the printer or the pad."""

    text: str
    align: Align = Align.LEFT
    bold: bool = field(default=False, kw_only=True)


_TITLE = {
    ReceiptKind.SALE: "SALE 消费",
    ReceiptKind.VOID: "VOID 消费撤销",
    ReceiptKind.REFUND: "REFUND 退货",
    ReceiptKind.OFFLINE_SALE: "OFFLINE SALE 离线消费",
}
_COPY = {Copy.CUSTOMER: "CUSTOMER COPY / 持卡人存根", Copy.MERCHANT: "MERCHANT COPY / 商户存根"}
_HALF_RESULT = {
    SettleResult.REQUEST: "NOT CHECKED 未核对",
    SettleResult.BALANCED: "BALANCED 对账平",
    SettleResult.UNBALANCED: "UNBALANCED 对账不平",
    SettleResult.ERROR: "ERROR 对账出错",
}
# (English, Chinese): printed on one line when it fits, else on two
_OUTCOME = {
    SlipOutcome.BALANCED: ("BALANCED", "对账平"),
    SlipOutcome.UPLOADED: ("UNBALANCED - BATCH UPLOADED", "对账不平（已上送明细）"),
    SlipOutcome.ALREADY_SETTLED: ("ALREADY SETTLED BY HOST", "主机已结算"),
}
REPRINT = "REPRINT 重打印"


def display_width(text: str) -> int:
    """Columns ``text`` takes on the printer: wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def format_amount(money: Money) -> str:
    """``CNY 1,234.56``: ISO alpha code (numeric code if unknown) and grouped digits."""
    code = _CURRENCY_ALPHA.get(money.currency, money.currency)
    whole, dot, frac = str(money).partition(".")
    return f"{code} {int(whole):,}{dot}{frac}"


def _clean(text: str) -> str:
    return "".join("?" if unicodedata.category(c).startswith("C") else c for c in text)


def _wrap(text: str, width: int) -> list[str]:
    """Split into pieces of at most ``width`` columns, at a space when one is near."""
    lines: list[str] = []
    current = ""
    for char in text:
        if display_width(current + char) > width:
            cut = current.rfind(" ")
            if cut > 0:
                lines.append(current[:cut])
                current = current[cut + 1 :]
            else:
                lines.append(current)
                current = ""
        current += char
    if current or not lines:
        lines.append(current)
    return [line.rstrip() for line in lines]


def _pair(label: str, value: str, width: int, *, bold: bool = False) -> list[Line]:
    """``label`` on the left, ``value`` flush right; the value drops a line when both won't fit."""
    value = _clean(value)
    gap = width - display_width(label) - display_width(value)
    if gap >= 1:
        return [Line(label + " " * gap + value, bold=bold)]
    out = [Line(label, bold=bold)]
    for piece in _wrap(value, width):
        out.append(Line(" " * (width - display_width(piece)) + piece, bold=bold))
    return out


def _centered(text: str, width: int, *, bold: bool = True) -> list[Line]:
    return [Line(piece, Align.CENTER, bold=bold) for piece in _wrap(text, width)]


def _bilingual(en: str, zh: str, width: int) -> list[Line]:
    both = f"{en} {zh}"
    if display_width(both) <= width:
        return _centered(both, width)
    return _centered(en, width) + _centered(zh, width)


def _header(doc: Document, width: int) -> list[Line]:
    return [
        *_pair("MERCHANT NAME 商户名称", doc.merchant_name, width),
        *(_pair("ADDRESS 地址", doc.merchant_address, width) if doc.merchant_address else []),
        *_pair("MERCHANT NO. 商户编号", doc.mid, width),
        *_pair("TERMINAL NO. 终端编号", doc.tid, width),
        *_pair("OPERATOR 操作员", doc.operator, width),
    ]


def receipt_lines(receipt: Receipt, width: PaperWidth) -> list[Line]:
    rule = Line("-" * width)
    out = _centered(_TITLE[receipt.kind], width)
    out += _centered(_COPY[receipt.copy], width, bold=False)
    if receipt.reprint:
        out += _centered(REPRINT, width)
    out += [rule, *_header(receipt, width)]
    out += _pair("CARD NO. 卡号", last4(receipt.pan_last4), width)
    out += _pair("CARD ORG 卡组织", receipt.card_org.value, width)
    out += _pair("BATCH NO. 批次号", f"{receipt.batch:06d}", width)
    out += _pair("VOUCHER NO. 凭证号", f"{receipt.stan:06d}", width)
    if receipt.original_stan is not None:
        out += _pair("ORIG VOUCHER 原凭证号", f"{receipt.original_stan:06d}", width)
    if receipt.auth_code:
        out += _pair("AUTH NO. 授权码", receipt.auth_code, width)
    if receipt.rrn:
        out += _pair("REF NO. 参考号", receipt.rrn, width)
    if receipt.original_rrn:
        out += _pair("ORIG REF NO. 原参考号", receipt.original_rrn, width)
    out += _pair("DATE/TIME 日期时间", receipt.when.strftime("%Y/%m/%d %H:%M:%S"), width)
    out += [rule, *_pair("AMOUNT 金额", format_amount(receipt.amount), width, bold=True), rule]
    if receipt.copy is Copy.MERCHANT:
        # The merchant keeps the signed copy; the cardholder's copy has nothing to sign.
        out += [Line("CARDHOLDER SIGNATURE 持卡人签名"), Line(""), Line(""), rule]
    return out


def _half_lines(title: str, half: HalfTotals, currency: str, width: int) -> list[Line]:
    return [
        Line(title, bold=True),
        *_pair("DEBIT COUNT 借记笔数", str(half.debit_count), width),
        *_pair("DEBIT AMOUNT 借记金额", format_amount(Money(half.debit_amount, currency)), width),
        *_pair("CREDIT COUNT 贷记笔数", str(half.credit_count), width),
        *_pair("CREDIT AMOUNT 贷记金额", format_amount(Money(half.credit_amount, currency)), width),
        *_pair("RESULT 结果", _HALF_RESULT[half.result], width),
        Line("-" * width),
    ]


def slip_lines(slip: SettlementSlip, width: PaperWidth) -> list[Line]:
    rule = Line("-" * width)
    out = _centered("SETTLEMENT 结算单", width)
    if slip.reprint:
        out += _centered(REPRINT, width)
    out += [rule, *_header(slip, width)]
    out += _pair("BATCH NO. 批次号", f"{slip.batch:06d}", width)
    out += _pair("DATE/TIME 日期时间", slip.when.strftime("%Y/%m/%d %H:%M:%S"), width)
    out.append(rule)
    out += _half_lines("DOMESTIC CARDS 内卡", slip.totals.domestic, slip.currency, width)
    out += _half_lines("FOREIGN CARDS 外卡", slip.totals.foreign, slip.currency, width)
    out += _bilingual(*_OUTCOME[slip.outcome], width)
    return out


def document_lines(doc: Document, width: PaperWidth = PaperWidth.MM58) -> list[Line]:
    """The styled lines of a receipt or a slip."""
    if isinstance(doc, Receipt):
        return receipt_lines(doc, width)
    return slip_lines(doc, width)


def render_text(doc: Document, width: PaperWidth = PaperWidth.MM58) -> list[str]:
    """Plain text, every line exactly ``width`` columns: the slip as the merchant sees it."""
    out = []
    for line in document_lines(doc, width):
        pad = width - display_width(line.text)
        left = pad // 2 if line.align is Align.CENTER else 0
        out.append(" " * left + line.text + " " * (pad - left))
    return out

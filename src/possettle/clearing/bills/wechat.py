"""WeChat Pay's daily trade bill (交易账单): one UTF-8 CSV in four parts — the detail header,
the detail rows, the summary header (first column 总交易单数) and the summary row.

Every value carries a leading backquote so that spreadsheets keep numbers as text; it is
stripped from every value, then spaces and tabs. Codes are compared only after that trim:
a parser that compares ``"REFUND "`` with ``"REFUND"`` files every refund as a payment.
交易时间 of a refund row is the refund's initiation time. Fees carry five decimals and must
be whole fen. A bill fetched with ``tar_type=GZIP`` is accepted as is.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from possettle.clearing.bills._cells import Line, Record, RecordError, lines, record
from possettle.clearing.bills.model import (
    BadLine,
    BillResult,
    BillRow,
    BillTotals,
    Mismatch,
    TradeType,
    Wallet,
    compare,
    detail_totals,
)
from possettle.clearing.errors import FileFormatError

ENCODING = "utf-8"
BOM = "\ufeff"
PAD = " \t"
TICK = "`"
FIRST_COLUMN = "交易时间"
SUMMARY_FIRST_COLUMN = "总交易单数"
# The columns a row needs; the ALL bill has 27, SUCCESS 20, REFUND 29 (see docs/clearing.md).
REQUIRED = ("交易时间", "微信订单号", "商户订单号", "交易状态", "手续费")
SETTLED = ("应结订单金额", "总金额")  # early merchants' bills say 总金额
REFUND_STATUS = "REFUND"
# 总交易单数 counts every detail row, payments and refunds alike; the summary has no split.
TIED_FIELDS = ("row_count", "amount_fen", "settled_fen", "refund_fen", "fee_fen")


def read_wechat_bill(path: Path) -> BillResult:
    """Read the WeChat Pay bill at ``path``."""
    return parse_wechat_bill(path.read_bytes(), str(path))


def parse_wechat_bill(data: bytes, name: str) -> BillResult:
    """Read a WeChat Pay bill held in ``data``; ``name`` names it in every report."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise FileFormatError(f"{name}: not a WeChat Pay bill: a broken gzip file") from exc
    try:
        text = data.decode(ENCODING)
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"{name}: byte {exc.start}: not a WeChat Pay bill: not UTF-8 text: {exc.reason}"
        ) from exc
    start = 0
    if text.startswith(BOM):
        text, start = text[1:], len(BOM.encode(ENCODING))
    detail_header, detail, summary_header, summary = _parts(text, name, start)
    rows: list[BillRow] = []
    bad: list[BadLine] = []
    for line in detail:
        try:
            rows.append(_row(record(name, line, detail_header, _cells(line, name))))
        except RecordError as exc:
            bad.append(exc.bad_line)
    totals: BillTotals | None = None
    if summary_header is not None:
        for line in summary:
            try:
                totals = _summary(record(name, line, summary_header, _cells(line, name)))
            except RecordError as exc:
                bad.append(exc.bad_line)
    detail_sum = detail_totals(tuple(rows))
    return BillResult(
        wallet=Wallet.WECHAT,
        file=name,
        rows=tuple(rows),
        summary=totals,
        detail=detail_sum,
        mismatches=_tie_out(totals, detail_sum),
        bad_lines=tuple(bad),
    )


def _tie_out(summary: BillTotals | None, detail: BillTotals) -> tuple[Mismatch, ...]:
    return compare(summary, detail, TIED_FIELDS) if summary else ()


def _cells(line: Line, name: str) -> list[str]:
    return [cell.removeprefix(TICK).strip(PAD) for cell in line.cells(name, "")]


def _first_cell(line: Line, name: str) -> str:
    """The line's first value, or "" when it is not CSV (the row is reported later)."""
    try:
        return _cells(line, name)[0]
    except RecordError:
        return ""


def _parts(
    text: str, name: str, start: int
) -> tuple[tuple[str, ...], list[Line], tuple[str, ...] | None, list[Line]]:
    detail_header: tuple[str, ...] | None = None
    summary_header: tuple[str, ...] | None = None
    detail: list[Line] = []
    summary: list[Line] = []
    for line in lines(text, ENCODING, start):
        if not line.text.strip(PAD):
            continue
        if detail_header is None:
            try:
                cells = _cells(line, name)
            except RecordError as exc:
                raise FileFormatError(f"{exc} (not a WeChat Pay bill)") from exc
            if cells[0] != FIRST_COLUMN:
                raise FileFormatError(
                    f"{name}: line {line.number} (byte {line.byte_offset}): not a WeChat Pay bill: "
                    f"expected the header row starting {FIRST_COLUMN!r}"
                )
            missing = [c for c in REQUIRED if c not in cells]
            if missing or not any(c in cells for c in SETTLED):
                raise FileFormatError(
                    f"{name}: line {line.number}: header lacks the columns "
                    f"{missing or list(SETTLED)}"
                )
            detail_header = tuple(cells)
        elif summary_header is None and _first_cell(line, name) == SUMMARY_FIRST_COLUMN:
            summary_header = tuple(_cells(line, name))
        else:
            (detail if summary_header is None else summary).append(line)
    if detail_header is None:
        raise FileFormatError(f"{name}: not a WeChat Pay bill: empty")
    return detail_header, detail, summary_header, summary


def _row(rec: Record) -> BillRow:
    status = rec.text("交易状态")
    refund = status == REFUND_STATUS
    settled_column = next(c for c in SETTLED if c in rec.values)
    fee = rec.fen("手续费", empty_is_zero=True)
    if refund:
        requested = rec.fen("申请退款金额") if "申请退款金额" in rec.values else rec.fen("退款金额")
        refunded = rec.fen("退款金额", empty_is_zero=True)
        amount, settled, refund_fen = -requested, -refunded, refunded
    else:
        settled = rec.fen(settled_column)
        amount = rec.fen("订单金额") if "订单金额" in rec.values else settled
        refund_fen = 0
    return BillRow(
        wallet=Wallet.WECHAT,
        line=rec.line.number,
        trade_no=rec.text("商户订单号"),
        wallet_txn_id=rec.text("微信订单号"),
        time=rec.time("交易时间"),
        type=TradeType.REFUND if refund else TradeType.PAYMENT,
        amount_fen=amount,
        settled_fen=settled,
        fee_fen=fee,
        refund_fen=refund_fen,
        status=status,
        refund_no=rec.optional("商户退款单号") if refund else None,
        terminal_id=rec.optional("设备号"),
    )


def _summary(rec: Record) -> BillTotals:
    """应结订单总金额 sums the payments' settled amounts, 退款总金额 the refunds' amounts;
    订单总金额 and 申请退款总金额 (absent from early bills) the order and requested amounts."""
    settled_column = next(
        (c for c in ("应结订单总金额", "总金额") if c in rec.values), "应结订单总金额"
    )
    settled = rec.fen(settled_column) - rec.fen("退款总金额")
    amount = settled
    if "订单总金额" in rec.values:
        amount = rec.fen("订单总金额") - rec.fen("申请退款总金额")
    return BillTotals(
        row_count=rec.count("总交易单数"),
        payment_count=0,
        refund_count=0,
        amount_fen=amount,
        settled_fen=settled,
        refund_fen=rec.fen("退款总金额"),
        fee_fen=rec.fen("手续费总金额"),
    )

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import pytest

from possettle.clearing.bills import TradeType, Wallet, parse_wechat_bill, read_wechat_bill
from possettle.clearing.errors import FileFormatError
from tests.clearing.bill_fixtures import WECHAT_PAYMENT, WECHAT_REFUND, WECHAT_TOTAL, wechat_csv

FIXTURE = Path(__file__).parent / "fixtures" / "wechat_20261207.csv"


def _good() -> bytes:
    return wechat_csv([WECHAT_PAYMENT, WECHAT_REFUND], WECHAT_TOTAL)


def test_payment_and_refund_to_fen_exactly() -> None:
    result = parse_wechat_bill(_good(), "wx.csv")
    payment, refund = result.rows
    assert payment.wallet is Wallet.WECHAT
    assert payment.type is TradeType.PAYMENT
    assert (payment.amount_fen, payment.settled_fen, payment.fee_fen, payment.refund_fen) == (
        10000,
        10000,
        60,
        0,
    )
    assert payment.trade_no == "T0002"
    assert payment.wallet_txn_id == "4200001234202612070000000001"
    assert payment.time == datetime(2026, 12, 7, 9, 15, 2)
    assert payment.terminal_id == "POS-07"
    assert refund.type is TradeType.REFUND
    assert (refund.amount_fen, refund.settled_fen, refund.fee_fen, refund.refund_fen) == (
        -2550,
        -2550,
        -15,
        2550,
    )
    assert refund.refund_no == "R0002"
    assert result.complete


def test_backquote_is_stripped_from_every_value() -> None:
    row = parse_wechat_bill(_good(), "wx.csv").rows[0]
    assert "`" not in row.trade_no + row.wallet_txn_id + row.status + (row.terminal_id or "")


def test_refund_code_with_a_trailing_space_is_a_refund() -> None:
    refund = parse_wechat_bill(_good(), "wx.csv").rows[1]
    assert (refund.type, refund.status) == (TradeType.REFUND, "REFUND")


def test_summary_ties_out() -> None:
    result = parse_wechat_bill(_good(), "wx.csv")
    assert result.summary is not None
    assert result.mismatches == ()
    assert result.summary.fee_fen == 45


def test_summary_mismatch_is_reported() -> None:
    total = {**WECHAT_TOTAL, "退款总金额": "25.00", "总交易单数": "3"}
    result = parse_wechat_bill(wechat_csv([WECHAT_PAYMENT, WECHAT_REFUND], total), "wx.csv")
    assert [str(m) for m in result.mismatches] == [
        "summary row_count is 3, the detail rows add up to 2",
        "summary settled_fen is 7500, the detail rows add up to 7450",
        "summary refund_fen is 2500, the detail rows add up to 2550",
    ]


def test_fee_with_sub_fen_digits_is_a_bad_cell() -> None:
    row = {**WECHAT_PAYMENT, "手续费": "0.00600"}
    result = parse_wechat_bill(wechat_csv([row], None), "wx.csv")
    (bad,) = result.bad_lines
    assert (bad.line, bad.column) == (2, "手续费")
    assert bad.message == "not a whole number of fen: '0.00600'"


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"应结订单金额": "1O0.00"}, "应结订单金额"),
        ({"交易时间": "2026/12/07 09:15:02"}, "交易时间"),
        ({"申请退款金额": "", "交易状态": "REFUND"}, "申请退款金额"),
    ],
)
def test_bad_row_is_reported_and_good_rows_still_read(change: dict[str, str], column: str) -> None:
    data = wechat_csv([WECHAT_PAYMENT, {**WECHAT_PAYMENT, **change}, WECHAT_REFUND], None)
    result = parse_wechat_bill(data, "wx.csv")
    assert [r.line for r in result.rows] == [2, 4]
    (bad,) = result.bad_lines
    assert (bad.file, bad.line, bad.column) == ("wx.csv", 3, column)
    assert data[bad.byte_offset :].startswith(b"`2026")
    assert str(bad).startswith(f"wx.csv: line 3 (byte {bad.byte_offset}), column {column}: ")
    assert result.read_in_part


def test_wrong_column_count_is_reported() -> None:
    result = parse_wechat_bill(wechat_csv([WECHAT_PAYMENT], WECHAT_TOTAL, extra=["`a,`b"]), "w")
    (bad,) = result.bad_lines
    assert (bad.line, bad.column, bad.message) == (3, None, "2 columns, the header has 27")
    assert str(result.mismatches[0]).startswith("summary row_count is 2,")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<xml><return_code>FAIL</return_code></xml>",
        "总交易单数,应结订单总金额\r\n`1,`0.01\r\n".encode(),
        "交易时间,商户号\r\n".encode(),
        "交易时间".encode("gbk"),
    ],
)
def test_not_a_bill_is_a_file_format_error(data: bytes) -> None:
    with pytest.raises(FileFormatError, match=r"^wx.csv: .*"):
        parse_wechat_bill(data, "wx.csv")


def test_gzipped_bill_is_read() -> None:
    assert parse_wechat_bill(gzip.compress(_good()), "wx.csv.gz").complete


def test_reading_twice_gives_the_same_result() -> None:
    assert parse_wechat_bill(_good(), "wx.csv") == parse_wechat_bill(_good(), "wx.csv")


def test_checked_in_fixture() -> None:
    result = read_wechat_bill(FIXTURE)
    assert result.complete
    assert [(r.type, r.amount_fen) for r in result.rows] == [
        (TradeType.PAYMENT, 10000),
        (TradeType.REFUND, -2550),
    ]


def test_line_separator_in_a_product_name_does_not_split_the_row() -> None:
    row = {**WECHAT_PAYMENT, "商品名称": "牛肉面\u2028大碗\x85"}
    result = parse_wechat_bill(wechat_csv([row, WECHAT_REFUND], WECHAT_TOTAL), "wx.csv")
    assert result.complete
    assert [r.line for r in result.rows] == [2, 3]


def test_a_line_that_is_not_csv_is_a_bad_line() -> None:
    row = {**WECHAT_PAYMENT, "商品名称": "牛肉面\r大碗"}
    result = parse_wechat_bill(wechat_csv([row, WECHAT_REFUND], None), "wx.csv")
    (bad,) = result.bad_lines
    assert (bad.line, bad.column) == (2, None)
    assert bad.message.startswith("not CSV: ")
    assert [r.line for r in result.rows] == [3]

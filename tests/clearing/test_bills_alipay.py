from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from possettle.clearing.bills import TradeType, Wallet, parse_alipay_bill, read_alipay_bill
from possettle.clearing.errors import FileFormatError
from tests.clearing.bill_fixtures import (
    ALIPAY_PAYMENT,
    ALIPAY_REFUND,
    ALIPAY_TOTAL,
    alipay_detail_csv,
    alipay_summary_csv,
    alipay_zip,
)

FIXTURE = Path(__file__).parent / "fixtures" / "alipay_20261207.csv.zip"


def _good() -> bytes:
    return alipay_zip(
        alipay_detail_csv([ALIPAY_PAYMENT, ALIPAY_REFUND]), alipay_summary_csv([ALIPAY_TOTAL])
    )


def test_payment_and_refund_to_fen_exactly() -> None:
    result = parse_alipay_bill(_good(), "bill.zip")
    payment, refund = result.rows
    assert payment.wallet is Wallet.ALIPAY
    assert payment.type is TradeType.PAYMENT
    assert (payment.amount_fen, payment.settled_fen, payment.fee_fen, payment.refund_fen) == (
        1234,
        1234,
        7,
        0,
    )
    assert payment.trade_no == "T0001"
    assert payment.wallet_txn_id == "2026120722001400001"
    assert payment.time == datetime(2026, 12, 7, 10, 26, 45)
    assert (payment.store_id, payment.store_name, payment.terminal_id) == (
        "S01",
        "静安寺店",
        "TERM0001",
    )
    assert refund.type is TradeType.REFUND
    assert (refund.amount_fen, refund.settled_fen, refund.fee_fen, refund.refund_fen) == (
        -230,
        -230,
        -1,
        230,
    )
    assert refund.refund_no == "R0001"
    assert result.complete


def test_tab_padding_is_trimmed_from_every_value() -> None:
    row = parse_alipay_bill(_good(), "bill.zip").rows[0]
    assert "\t" not in row.trade_no + row.wallet_txn_id + row.status + (row.store_name or "")


def test_refund_with_a_positive_amount_still_counts_negative() -> None:
    refund = {**ALIPAY_REFUND, "订单金额（元）": "2.30"}
    row = parse_alipay_bill(alipay_zip(alipay_detail_csv([refund]), None), "b.zip").rows[0]
    assert (row.amount_fen, row.refund_fen) == (-230, 230)


def test_summary_ties_out() -> None:
    result = parse_alipay_bill(_good(), "bill.zip")
    assert result.summary is not None
    # Alipay's summary has no refund amount: refunds tie out through 订单金额 and the counts.
    assert (result.summary.amount_fen, result.summary.fee_fen) == (1004, 6)
    assert (result.summary.payment_count, result.summary.refund_count) == (1, 1)
    assert result.mismatches == ()


def test_summary_mismatch_is_reported() -> None:
    total = {**ALIPAY_TOTAL, "订单金额（元）": "10.05", "退款订单总笔数": "2"}
    data = alipay_zip(
        alipay_detail_csv([ALIPAY_PAYMENT, ALIPAY_REFUND]), alipay_summary_csv([total])
    )
    result = parse_alipay_bill(data, "bill.zip")
    assert [str(m) for m in result.mismatches] == [
        "summary refund_count is 2, the detail rows add up to 1",
        "summary amount_fen is 1005, the detail rows add up to 1004",
    ]
    assert not result.complete


def test_summary_without_total_row_sums_its_stores() -> None:
    store = {**ALIPAY_TOTAL, "门店编号": "S01", "门店名称": "静安寺店"}
    data = alipay_zip(
        alipay_detail_csv([ALIPAY_PAYMENT, ALIPAY_REFUND]), alipay_summary_csv([store])
    )
    assert parse_alipay_bill(data, "bill.zip").mismatches == ()


def test_missing_summary_leaves_the_bill_incomplete() -> None:
    result = parse_alipay_bill(alipay_zip(alipay_detail_csv([ALIPAY_PAYMENT]), None), "b.zip")
    assert result.summary is None
    assert len(result.rows) == 1
    assert not result.complete


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        ({"订单金额（元）": "12.3x"}, "订单金额（元）", "not an amount in yuan: '12.3x'"),
        ({"订单金额（元）": "12.345"}, "订单金额（元）", "not a whole number of fen: '12.345'"),
        ({"完成时间": "2026-13-07 10:00:00"}, "完成时间", "not a time in yyyy-MM-dd HH:mm:ss"),
        ({"业务类型": "转账"}, "业务类型", "not 交易 or 退款: '转账'"),
    ],
)
def test_bad_cell_is_reported_and_good_rows_still_read(
    change: dict[str, str], column: str, message: str
) -> None:
    detail = alipay_detail_csv([ALIPAY_PAYMENT, {**ALIPAY_PAYMENT, **change}, ALIPAY_REFUND])
    result = parse_alipay_bill(alipay_zip(detail, None), "bill.zip")
    assert [r.line for r in result.rows] == [6, 8]
    assert result.read_in_part
    (bad,) = result.bad_lines
    assert bad.file == "bill.zip:20880000000000000156_20261207_业务明细.csv"
    assert (bad.line, bad.column) == (7, column)
    assert message in bad.message
    assert detail.encode("gbk")[bad.byte_offset :].startswith(b"2026120722001400001")


def test_wrong_column_count_is_reported() -> None:
    result = parse_alipay_bill(
        alipay_zip(alipay_detail_csv([ALIPAY_PAYMENT], extra=["a,b,c"]), None), "bill.zip"
    )
    (bad,) = result.bad_lines
    assert (bad.line, bad.column, bad.message) == (7, None, "3 columns, the header has 25")
    assert len(result.rows) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK not really", "bill.zip: not an Alipay bill: not a zip file"),
        (b"", "bill.zip: not an Alipay bill: not a zip file"),
    ],
)
def test_not_a_zip_is_a_file_format_error(data: bytes, message: str) -> None:
    with pytest.raises(FileFormatError, match=message):
        parse_alipay_bill(data, "bill.zip")


def test_zip_without_detail_csv_is_a_file_format_error() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(FileFormatError, match=r"bill.zip: not an Alipay bill: expected one"):
        parse_alipay_bill(buffer.getvalue(), "bill.zip")


def test_detail_without_header_is_a_file_format_error() -> None:
    with pytest.raises(FileFormatError, match="not an Alipay bill: expected the header row"):
        parse_alipay_bill(alipay_zip("#支付宝业务明细查询\r\nhello,world\r\n", None), "bill.zip")


def test_utf8_flagged_member_names_are_read_too() -> None:
    data = alipay_zip(alipay_detail_csv([ALIPAY_PAYMENT]), None, utf8_names=True)
    assert len(parse_alipay_bill(data, "bill.zip").rows) == 1


def test_reading_twice_gives_the_same_result() -> None:
    data = _good()
    assert parse_alipay_bill(data, "bill.zip") == parse_alipay_bill(data, "bill.zip")


def test_checked_in_fixture() -> None:
    result = read_alipay_bill(FIXTURE)
    assert result.complete
    assert [(r.trade_no, r.amount_fen) for r in result.rows] == [("T0001", 1234), ("T0001", -230)]


def test_detail_that_is_not_gbk_is_a_file_format_error() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x_业务明细.csv", b"\xff\xff\xff")
    with pytest.raises(FileFormatError, match=r"^bill.zip:x_业务明细.csv: byte 0: not GBK text"):
        parse_alipay_bill(buffer.getvalue(), "bill.zip")

"""The writer: byte-exact GBK fixed-width lines, LayoutError naming the field."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from possettle.clearing.acom_write import encode_line, write_file
from possettle.clearing.checksum import Checksum, parse
from possettle.clearing.errors import LayoutError
from possettle.clearing.layout import Variant, line_length
from possettle.clearing.record import AcomRecord, mask_pan
from tests.clearing.conftest import make_record

# Hand-checked against the layout, field by field, each followed by one space.
EXPECTED_ACOM_LINE = (
    b" ".join(
        [
            b"48020000   ",  # 1 代理机构标识码, 11, left-justified
            b"48020000   ",  # 2 发送机构标识码, 11
            b"000123",  # 3 系统跟踪号, 6, zero-filled
            b"1208103005",  # 4 交易传输时间 MMDDhhmmss
            b"622202*********0123",  # 5 主账号, masked, 19
            b"000000012345",  # 6 交易金额 123.45 yuan in fen, 12
            b"000000000000",  # 7
            b"000000000000",  # 8
            b"0200",  # 9 报文类型
            b"000000",  # 10 交易类型码
            b"5411",  # 11 MCC
            b"T0000001",  # 12 终端
            b"898310048990001",  # 13 商户
            b"120810300501",  # 14 RRN
            b"00",  # 15
            b"A1B2C3",  # 16
            b"01020000   ",  # 17
            b"000000",  # 18 no original STAN
            b"00",  # 19
            b"051",  # 20
            b"D00000000038",  # 21 receivable fee +0.38
            b"D00000000000",  # 22 zero
            b"C00000000005",  # 23 转接服务费 -0.05
            b"0",  # 24
            b"001",  # 25
            b"5",  # 26
            b"0",  # 27
            b"          ",  # 28 no original time
            b"01020000   ",  # 29
            b"1",  # 30
            b"03",  # 31
            b"  ",  # 32
            b"000000000000",  # 33
        ]
    )
    + b" "
)


def test_one_acom_line_is_exactly_the_hand_checked_bytes(record: AcomRecord) -> None:
    line = encode_line(record, Variant.ACOM)
    assert line == EXPECTED_ACOM_LINE
    assert len(line) == line_length(Variant.ACOM) == 285


def test_a_chinese_merchant_name_is_padded_by_bytes_not_characters(record: AcomRecord) -> None:
    named = make_record(merchant_name="上海某某超市")  # 6 characters, 12 GBK bytes
    line = encode_line(named, Variant.ACOMA)
    assert len(line) == line_length(Variant.ACOMA) == 952
    start = 285 + 15 + 12 + 12 + 2 + 2 + 5 + 3  # after field 40 and its space
    assert line[start : start + 41] == "上海某某超市".encode("gbk") + b" " * 28 + b" "
    assert line[start + 41 : start + 45] == b"156 "
    assert line.startswith(EXPECTED_ACOM_LINE)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"merchant_id": "8983100489900012"}, "field 13 merchant_id: value is 16 bytes"),
        ({"merchant_name": "上海" * 11}, "field 41 merchant_name: value is 44 bytes"),
        ({"amount": -1}, "field 6 amount: -1 is not a non-negative amount"),
        ({"amount": 10**12}, "field 6 amount: value is 13 bytes, the field holds 12"),
        ({"switching_fee": -(10**11)}, "field 23 switching_fee: 12 digits, the field holds 11"),
        ({"stan": "12a"}, "field 3 stan: '12a' is not a string of digits"),
        ({"pan": "6222021234567890123"}, "field 5 pan: a card number in clear"),
        ({"pan": "6222-0212"}, "field 5 pan: not a masked card number"),
        ({"transfer_in_pan": "6222021234567890"}, "field 68 transfer_in_pan: a card number in"),
        ({"transmitted_at": None}, "field 4 transmitted_at: every record has this time"),
        ({"rrn": "12\n34"}, "field 14 rrn: a line break inside the value"),
        ({"merchant_name": "café 😀"}, "field 41 merchant_name: 'café 😀' cannot be written"),
        ({"transmitted_at": "1208103005"}, "field 4 transmitted_at: '1208103005' is not a"),
    ],
)
def test_a_value_that_does_not_fit_raises_layout_error_naming_the_field(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(LayoutError, match="^" + re.escape(message)):
        encode_line(make_record(**changes), Variant.ACOMA)


def test_the_clear_pan_error_shows_only_the_masked_form() -> None:
    with pytest.raises(LayoutError) as info:
        encode_line(make_record(pan="6222021234567890123"), Variant.ACOM)
    assert "6222021234567890123" not in str(info.value)
    assert mask_pan("6222021234567890123") in str(info.value)


def test_write_file_names_the_clearing_date_and_writes_the_checksum() -> None:
    records = [make_record(), make_record(stan="124", amount=100)]
    out = write_file(records, date(2026, 12, 8), Variant.ACOMA)
    assert out.name == "ACOMA_20261208.txt"
    assert out.checksum_name == "ACOMA_20261208.sum"
    assert out.data.count(b"\r\n") == 2
    assert out.checksum == (
        b"possettle-acom-checksum 1\nfile ACOMA_20261208.txt\nrecords 2\namount 12445\n"
    )
    assert parse(out.checksum) == Checksum("ACOMA_20261208.txt", 2, 12445)


def test_write_file_names_the_record_that_does_not_fit() -> None:
    records = [make_record(), make_record(transmitted_at=datetime(2026, 1, 1), stan="1234567")]
    with pytest.raises(LayoutError, match=r"^record 2: field 3 stan"):
        write_file(records, date(2026, 12, 8))


def test_a_time_too_far_from_the_clearing_date_to_rebuild_its_year_is_refused() -> None:
    old = make_record(original_transmitted_at=datetime(2025, 12, 1, 9, 0, 0))
    with pytest.raises(LayoutError, match=r"^record 1: field 28 original_transmitted_at: 2025-12"):
        write_file([old], date(2026, 12, 8))

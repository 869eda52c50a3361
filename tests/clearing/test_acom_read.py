"""The reader: bytes cut per field before decoding, bad lines reported and the rest read."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from possettle.clearing.acom_read import read_bytes, read_path
from possettle.clearing.acom_write import encode_line, write_file
from possettle.clearing.checksum import parse
from possettle.clearing.errors import FileFormatError
from possettle.clearing.layout import Variant, line_length, offsets
from possettle.clearing.record import AcomRecord
from tests.clearing.conftest import make_record

CLEARING = date(2026, 12, 8)


def test_writer_to_reader_round_trip_is_byte_exact(record: AcomRecord) -> None:
    records = [record, make_record(stan="000124", merchant_name="上海某某超市", amount=1)]
    out = write_file(records, CLEARING, Variant.ACOMA)
    back = read_bytes(out.name, out.data)
    assert back.complete
    assert back.records == tuple(records)
    again = write_file(back.records, back.clearing_date, back.variant)
    assert again.data == out.data
    assert back.mismatches(parse(out.checksum)) == []


def test_a_multibyte_merchant_name_does_not_shift_the_fields_after_it() -> None:
    rec = make_record(merchant_name="北京王府井百货大楼股份有限公司", merchant_fee=-123)
    out = write_file([rec], CLEARING)
    got = read_bytes(out.name, out.data).records[0]
    assert got.merchant_name == "北京王府井百货大楼股份有限公司"
    assert got.currency == "156"
    assert got.merchant_fee == -123
    assert got.reserved == ""


def test_a_negative_fee_reads_back_negative_and_plain_digits_read_positive() -> None:
    out = write_file([make_record(switching_fee=-5, acquirer_fee_payable=7)], CLEARING)
    got = read_bytes(out.name, out.data).records[0]
    assert (got.switching_fee, got.acquirer_fee_payable, got.acquirer_fee_receivable) == (-5, 7, 38)
    line = out.data.replace(b"C00000000005", b"000000000000")
    assert read_bytes(out.name, line).records[0].switching_fee == 0


def test_a_december_time_in_a_january_file_is_the_previous_year() -> None:
    rec = make_record(
        transmitted_at=datetime(2026, 12, 31, 23, 59, 58),
        original_transmitted_at=datetime(2027, 1, 1, 0, 0, 1),
    )
    out = write_file([rec], date(2027, 1, 1), Variant.ACOM)
    assert out.name == "ACOM_20270101.txt"
    got = read_bytes(out.name, out.data).records[0]
    assert got.transmitted_at == datetime(2026, 12, 31, 23, 59, 58)
    assert got.original_transmitted_at == datetime(2027, 1, 1, 0, 0, 1)
    # and a 0101 time in a 31 December file is the next year's
    out = write_file(
        [make_record(transmitted_at=datetime(2027, 1, 1, 0, 0, 1))], date(2026, 12, 31)
    )
    assert read_bytes(out.name, out.data).records[0].transmitted_at == datetime(2027, 1, 1, 0, 0, 1)


def test_a_partly_bad_file_reports_each_bad_line_and_reads_the_good_ones() -> None:
    good = [make_record(stan=str(n), amount=n) for n in range(1, 6)]
    lines = [encode_line(r, Variant.ACOM) for r in good]
    lines[1] = lines[1][:70]  # short: ends inside field 6, which starts at byte 62
    lines[2] = lines[2][:62] + b"00000000X345" + lines[2][74:]  # 交易金额 not digits
    lines[3] = lines[3][:31] + b"1332103005" + lines[3][41:]  # month 13
    data = b"\r\n".join(lines) + b"\r\n"
    result = read_bytes("ACOM_20261208.txt", data)
    assert not result.complete
    assert [r.stan for r in result.records] == ["000001", "000005"]
    report = [(b.line, b.offset, b.field.name) for b in result.bad_lines]
    assert report == [(2, 62, "amount"), (3, 62, "amount"), (4, 31, "transmitted_at")]
    first_of_line_3 = (285 + 2) + (70 + 2)
    assert result.bad_lines[1].file_offset == first_of_line_3 + 62
    assert str(result.bad_lines[1]) == (
        f"ACOM_20261208.txt line 3, byte 62 (file byte {first_of_line_3 + 62}),"
        " field 6 amount: b'00000000X345' is not an amount in fen"
    )
    assert result.bad_lines[0].reason == "line is 70 bytes, ends inside this field"
    assert result.bad_lines[2].reason == "b'1332103005' is not MMDDhhmmss"


def test_bad_gbk_in_a_text_field_is_reported_not_replaced() -> None:
    line = encode_line(make_record(merchant_id="89831004899000"), Variant.ACOM)
    start = dict((f.name, pos) for f, pos in offsets(Variant.ACOM))["merchant_id"]
    bad = line[:start] + b"\xff\xff" + line[start + 2 :]
    result = read_bytes("ACOM_20261208.txt", bad)
    assert result.records == ()
    (only,) = result.bad_lines
    assert (only.line, only.offset, only.field.name) == (1, start, "merchant_id")
    assert "not GBK" in only.reason


def test_a_longer_line_or_a_reserved_tail_is_read_and_the_tail_ignored(record: AcomRecord) -> None:
    acoma = write_file([record], CLEARING, Variant.ACOMA).data
    as_acom = read_bytes("ACOMA_20261208.txt", acoma, Variant.ACOM)
    assert as_acom.complete
    assert as_acom.records == (record,)
    longer = encode_line(record, Variant.ACOMA) + b"NEWFIELD 0000000042 " + b" " * 40
    assert read_bytes("ACOMA_20261208.txt", longer).records == (record,)


def test_the_last_field_may_end_the_line_without_its_space(record: AcomRecord) -> None:
    line = encode_line(record, Variant.ACOM)[:-1]
    assert len(line) == line_length(Variant.ACOM) - 1
    assert read_bytes("ACOM_20261208.txt", line + b"\n").records == (record,)


def test_a_missing_separator_is_a_bad_line() -> None:
    line = bytearray(encode_line(make_record(), Variant.ACOM))
    line[11] = ord("X")
    (bad,) = read_bytes("ACOM_20261208.txt", bytes(line)).bad_lines
    assert (bad.offset, bad.field.number) == (11, 1)


def test_field_5_takes_a_masked_pan_and_masks_one_in_clear() -> None:
    line = encode_line(make_record(), Variant.ACOM)
    assert read_bytes("ACOM_20261208.txt", line).records[0].pan == "622202*********0123"
    clear = line.replace(b"622202*********0123", b"6222021234567890123")
    assert read_bytes("ACOM_20261208.txt", clear).records[0].pan == "622202*********0123"


def test_reading_the_same_file_twice_gives_the_same_result(tmp_path: Path) -> None:
    out = write_file([make_record(), make_record(stan="9", merchant_name="小店")], CLEARING)
    path = tmp_path / out.name
    path.write_bytes(out.data + b"short line\r\n")
    first, second = read_path(path), read_path(path)
    assert first == second
    assert len(first.records) == 2
    assert len(first.bad_lines) == 1


def test_a_name_without_a_clearing_date_is_a_file_format_error() -> None:
    with pytest.raises(FileFormatError, match="not a clearing file name"):
        read_bytes("clearing.txt", b"")
    with pytest.raises(FileFormatError, match="20261399 is not a date"):
        read_bytes("ACOM_20261399.txt", b"")


def test_the_checksum_says_when_the_read_falls_short() -> None:
    out = write_file([make_record(), make_record(stan="2", amount=5)], CLEARING)
    cut = out.data.split(b"\r\n")[0] + b"\r\n"
    result = read_bytes(out.name, cut)
    assert result.mismatches(parse(out.checksum)) == [
        "checksum says 2 records, read 1",
        "checksum says amount 12350 fen, read 12345",
    ]


def test_a_blank_transmit_time_is_a_bad_line_and_a_blank_original_time_is_none() -> None:
    line = encode_line(make_record(), Variant.ACOM)
    assert read_bytes("ACOM_20261208.txt", line).records[0].original_transmitted_at is None
    blank = line[:31] + b"0000000000" + line[41:]
    (bad,) = read_bytes("ACOM_20261208.txt", blank).bad_lines
    assert (bad.offset, bad.field.name, bad.reason) == (
        31,
        "transmitted_at",
        "no time in a field every record has",
    )

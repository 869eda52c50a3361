"""The layout is the research's: 33 ACOM fields, then 其他信息 and 35 COMA fields."""

from __future__ import annotations

from possettle.clearing.layout import (
    ACOM_FIELDS,
    ACOMA_EXTRA_FIELDS,
    ACOMA_FIELDS,
    Kind,
    Variant,
    data_length,
    line_length,
    offsets,
)

ACOM_LENGTHS = [11, 11, 6, 10, 19, 12, 12, 12, 4, 6, 4, 8, 15, 12, 2, 6, 11]
ACOM_LENGTHS += [6, 2, 3, 12, 12, 12, 1, 3, 1, 1, 10, 11, 1, 2, 2, 12]
COMA_LENGTHS = [11, 11, 1, 1, 4, 2, 40, 3, 9, 9, 11, 9] + [11, 9] * 9 + [9, 9, 9, 19, 280]


def test_acom_is_the_33_fields_in_the_researched_order_and_lengths() -> None:
    assert [f.length for f in ACOM_FIELDS] == ACOM_LENGTHS
    assert [f.number for f in ACOMA_FIELDS] == list(range(1, 70))


def test_acoma_adds_other_info_and_the_35_coma_fields() -> None:
    assert ACOMA_EXTRA_FIELDS[0].name == "other_info"
    assert ACOMA_EXTRA_FIELDS[0].length == 14
    assert [f.length for f in ACOMA_EXTRA_FIELDS[1:]] == COMA_LENGTHS
    assert ACOMA_FIELDS[40].number == 41
    assert ACOMA_FIELDS[40].name == "merchant_name"


def test_the_record_is_883_data_bytes_as_the_research_sums_it() -> None:
    assert len(ACOMA_FIELDS) == 69
    assert data_length(Variant.ACOMA) == 883
    # one space after each of the 69 fields
    assert line_length(Variant.ACOMA) == 883 + 69
    assert data_length(Variant.ACOM) == sum(ACOM_LENGTHS) == 252
    assert line_length(Variant.ACOM) == 252 + 33


def test_names_are_unique_and_the_fee_fields_are_signed() -> None:
    names = [f.name for f in ACOMA_FIELDS]
    assert len(names) == len(set(names))
    signed = {f.number for f in ACOM_FIELDS if f.kind is Kind.SIGNED_AMOUNT}
    assert signed == {21, 22, 23}
    assert {f.number for f in ACOM_FIELDS if f.kind is Kind.TIME} == {4, 28}


def test_offsets_step_over_each_field_and_its_space() -> None:
    table = offsets(Variant.ACOMA)
    assert table[0][1] == 0
    assert table[3][1] == 11 + 1 + 11 + 1 + 6 + 1
    last, pos = table[-1]
    assert pos + last.length + 1 == line_length(Variant.ACOMA)

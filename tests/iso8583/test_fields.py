"""Typed sub-fields of PS-CUP/1 beyond what the vectors cover."""

from __future__ import annotations

from possettle.iso8583.fields import HalfTotals


def test_a_count_above_999_travels_as_its_lowest_three_digits_and_still_compares() -> None:
    big = HalfTotals(86_667_333, 3334, 1200, 2)
    wire = str(big)
    assert len(wire) == 31 and wire[12:15] == "334"
    back = HalfTotals.parse(wire)
    assert back.debit_count == 334
    assert big.same_figures(back)
    assert not big.same_figures(HalfTotals(86_667_333 + 1, 3334, 1200, 2))

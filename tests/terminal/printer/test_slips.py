"""Settlement slips: both halves' totals and the result the merchant checks against the host."""

from __future__ import annotations

import pytest

from possettle.iso8583.fields import SettleResult
from possettle.terminal.printer.documents import DocumentError, SlipOutcome
from possettle.terminal.printer.escpos_job import escpos_job
from possettle.terminal.printer.layout import PaperWidth, display_width, render_text

from .samples import half, slip

BALANCED_SLIP_58MM = [
    "       SETTLEMENT 结算单        ",
    "--------------------------------",
    "MERCHANT NAME 商户名称 Test Shop",
    "MERCHANT NO. 商户编号           ",
    "                 898310048160001",
    "TERMINAL NO. 终端编号   10000001",
    "OPERATOR 操作员               01",
    "BATCH NO. 批次号          000001",
    "DATE/TIME 日期时间              ",
    "             2026/11/26 08:30:15",
    "--------------------------------",
    "DOMESTIC CARDS 内卡             ",
    "DEBIT COUNT 借记笔数           3",
    "DEBIT AMOUNT 借记金额           ",
    "                    CNY 1,234.56",
    "CREDIT COUNT 贷记笔数          1",
    "CREDIT AMOUNT 贷记金额 CNY 10.00",
    "RESULT 结果      BALANCED 对账平",
    "--------------------------------",
    "FOREIGN CARDS 外卡              ",
    "DEBIT COUNT 借记笔数           0",
    "DEBIT AMOUNT 借记金额   CNY 0.00",
    "CREDIT COUNT 贷记笔数          0",
    "CREDIT AMOUNT 贷记金额  CNY 0.00",
    "RESULT 结果      BALANCED 对账平",
    "--------------------------------",
    "        BALANCED 对账平         ",
]


def section(lines: list[str], title: str, width: PaperWidth) -> list[str]:
    """The lines of one half, from its title to the next rule."""
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = lines.index("-" * width, start)
    return lines[start:end]


def test_balanced_slip_on_58mm_paper_reads_exactly_so() -> None:
    assert render_text(slip(), PaperWidth.MM58) == BALANCED_SLIP_58MM


def test_unbalanced_slip_shows_each_half_and_says_the_batch_was_uploaded() -> None:
    s = slip(
        domestic=half((3, 123456), (1, 1000), SettleResult.BALANCED),
        foreign=half((2, 50000), (0, 0), SettleResult.UNBALANCED),
        outcome=SlipOutcome.UPLOADED,
    )
    lines = render_text(s, PaperWidth.MM80)
    assert section(lines, "DOMESTIC CARDS 内卡", PaperWidth.MM80) == [
        "DOMESTIC CARDS 内卡                       ",
        "DEBIT COUNT 借记笔数                     3",
        "DEBIT AMOUNT 借记金额         CNY 1,234.56",
        "CREDIT COUNT 贷记笔数                    1",
        "CREDIT AMOUNT 贷记金额           CNY 10.00",
        "RESULT 结果                BALANCED 对账平",
    ]
    assert section(lines, "FOREIGN CARDS 外卡", PaperWidth.MM80) == [
        "FOREIGN CARDS 外卡                        ",
        "DEBIT COUNT 借记笔数                     2",
        "DEBIT AMOUNT 借记金额           CNY 500.00",
        "CREDIT COUNT 贷记笔数                    0",
        "CREDIT AMOUNT 贷记金额            CNY 0.00",
        "RESULT 结果            UNBALANCED 对账不平",
    ]
    assert [line.strip() for line in lines[-2:]] == [
        "UNBALANCED - BATCH UPLOADED",
        "对账不平（已上送明细）",
    ]


def test_an_error_half_prints_as_an_error() -> None:
    s = slip(domestic=half((1, 100), result=SettleResult.ERROR), outcome=SlipOutcome.UPLOADED)
    assert "RESULT 结果       ERROR 对账出错" in render_text(s)


def test_a_batch_the_host_had_closed_prints_its_totals_as_not_checked() -> None:
    s = slip(
        domestic=half((3, 123456), result=SettleResult.REQUEST),
        foreign=half(result=SettleResult.REQUEST),
        outcome=SlipOutcome.ALREADY_SETTLED,
    )
    lines = render_text(s)
    assert lines.count("RESULT 结果   NOT CHECKED 未核对") == 2
    assert [line.strip() for line in lines[-2:]] == ["ALREADY SETTLED BY HOST", "主机已结算"]


def test_outcome_values_are_the_journals_settle_result_strings() -> None:
    assert [o.value for o in SlipOutcome] == [
        "balanced",
        "balanced_after_upload",
        "already_settled",
    ]


def test_a_balanced_outcome_with_an_unbalanced_half_is_refused() -> None:
    with pytest.raises(DocumentError, match="balanced but a half"):
        slip(foreign=half(result=SettleResult.UNBALANCED), outcome=SlipOutcome.BALANCED)


@pytest.mark.parametrize(
    ("bad_half", "message"),
    [
        (half((1_000_000, 1)), r"domestic\.debit_count 1000000 is outside 0\.\.999999"),
        (half(credit=(1, 10**12)), r"domestic\.credit_amount 1000000000000 is outside"),
        (half((-1, 0)), r"domestic\.debit_count -1"),
    ],
)
def test_totals_beyond_what_a_batch_can_hold_are_refused(bad_half: object, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        slip(domestic=bad_half)


def test_the_largest_totals_fit_the_paper() -> None:
    big = half((999_999, 999_999_999_999), (999_999, 999_999_999_999))
    s = slip(domestic=big, foreign=big)
    for width in PaperWidth:
        lines = render_text(s, width)
        assert "CNY 9,999,999,999.99" in "\n".join(lines)
        assert all(display_width(line) == width for line in lines)


def test_reprint_is_marked_and_the_rest_is_unchanged() -> None:
    original = render_text(slip())
    again = render_text(slip().as_reprint())
    assert again[1].strip() == "REPRINT 重打印"
    assert again[:1] + again[2:] == original


def test_slip_bytes_carry_the_chinese_labels_in_gb18030_and_end_with_a_cut() -> None:
    job = escpos_job(slip())
    assert job.startswith(b"\x1b@\x1c&")  # ESC @ initialise, FS & Chinese character mode
    assert "结算单".encode("gb18030") in job
    assert "对账平".encode("gb18030") in job
    assert job.endswith(b"\x1dV\x00")  # GS V 0: full cut

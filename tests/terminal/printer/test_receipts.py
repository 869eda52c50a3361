"""Receipts: only the last 4 digits of a card ever reach paper, in either language."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from possettle.cards import luhn_ok
from possettle.money import Money
from possettle.terminal.printer.documents import Copy, DocumentError, ReceiptKind
from possettle.terminal.printer.escpos_job import escpos_job
from possettle.terminal.printer.layout import PaperWidth, display_width, render_text

from .samples import PAN, receipt


def digit_runs(pan: str, shortest: int = 6) -> list[str]:
    """Every run of ``shortest`` or more consecutive digits of the PAN."""
    return [pan[i:j] for i in range(len(pan)) for j in range(i + shortest, len(pan) + 1)]


@st.composite
def luhn_pans(draw: st.DrawFn) -> str:
    body = draw(st.text("0123456789", min_size=12, max_size=18))
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def test_receipt_keeps_only_the_last_4_digits_of_the_pan() -> None:
    r = receipt(PAN)
    assert r.pan_last4 == "0128"
    assert PAN not in repr(r)
    assert PAN[:6] not in json.dumps(r.to_dict())


@pytest.mark.parametrize("width", list(PaperWidth))
def test_rendered_receipt_and_escpos_bytes_hold_no_6_digit_run_of_the_pan(
    width: PaperWidth,
) -> None:
    r = receipt(PAN)
    text = "\n".join(render_text(r, width))
    job = escpos_job(r, width)
    assert "**** 0128" in text
    for run in digit_runs(PAN):
        assert run not in text, run
        assert run.encode() not in job, run


@pytest.mark.parametrize(
    "given_pan",
    ["6222021234567890128", "622202*********0128", "**** 0128", "0128", "6222 0212 3456 7890 128"],
)
def test_any_form_of_the_pan_prints_as_the_same_last_4(given_pan: str) -> None:
    assert receipt(given_pan).pan_last4 == "0128"
    assert render_text(receipt(given_pan)) == render_text(receipt("0128"))


@settings(max_examples=60, deadline=None)
@given(pan=luhn_pans(), kind=st.sampled_from(ReceiptKind), copy=st.sampled_from(Copy))
def test_no_luhn_valid_pan_appears_on_a_receipt(pan: str, kind: ReceiptKind, copy: Copy) -> None:
    r = receipt(pan, kind=kind, copy=copy)
    text = "\n".join(render_text(r))
    job = escpos_job(r)
    assert pan not in text
    assert pan.encode() not in job
    # What is printed depends on the last 4 digits alone, so no other digit can be on it.
    only_last4 = receipt(pan[-4:], kind=kind, copy=copy)
    assert render_text(r) == render_text(only_last4)
    assert job == escpos_job(only_last4)


@pytest.mark.parametrize("bad", ["", "012", "6222O21234567890128", "0128\n", "abcd"])
def test_a_bad_pan_is_refused_without_repeating_it(bad: str) -> None:
    with pytest.raises(DocumentError, match="pan_last4") as info:
        receipt(bad)
    if bad:
        assert bad not in str(info.value)


def test_the_error_for_a_bad_pan_never_shows_its_digits() -> None:
    with pytest.raises(DocumentError) as info:
        receipt("6222021234567890128?")
    assert "622202" not in str(info.value)


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        (ReceiptKind.SALE, "SALE 消费"),
        (ReceiptKind.VOID, "VOID 消费撤销"),
        (ReceiptKind.REFUND, "REFUND 退货"),
        (ReceiptKind.OFFLINE_SALE, "OFFLINE SALE 离线消费"),
    ],
)
def test_each_kind_of_receipt_is_titled_in_both_languages(kind: ReceiptKind, title: str) -> None:
    assert render_text(receipt(kind=kind))[0].strip() == title


def test_merchant_copy_has_a_signature_line_and_customer_copy_does_not() -> None:
    merchant = "\n".join(render_text(receipt(copy=Copy.MERCHANT)))
    customer = "\n".join(render_text(receipt(copy=Copy.CUSTOMER)))
    assert "MERCHANT COPY / 商户存根" in merchant
    assert "CUSTOMER COPY / 持卡人存根" in customer
    assert "持卡人签名" in merchant
    assert "持卡人签名" not in customer


def test_amount_is_printed_with_currency_and_grouped_digits() -> None:
    text = render_text(receipt(amount=Money(123456789)))
    assert "AMOUNT 金额     CNY 1,234,567.89" in text


def test_void_and_refund_name_the_original_transaction() -> None:
    void = "\n".join(render_text(receipt(kind=ReceiptKind.VOID, original_stan=122)))
    refund = "\n".join(render_text(receipt(kind=ReceiptKind.REFUND, original_rrn="998877665544")))
    assert re.search(r"ORIG VOUCHER 原凭证号 +000122\n", void)
    # label and value do not fit one 32-column line: the value drops below, flush right
    assert re.search(r"\nORIG REF NO\. 原参考号 +\n +998877665544\n", refund)


def test_reprint_is_marked() -> None:
    assert render_text(receipt().as_reprint())[2].strip() == "REPRINT 重打印"
    assert "REPRINT" not in "\n".join(render_text(receipt()))


@pytest.mark.parametrize("width", list(PaperWidth))
def test_every_line_is_exactly_the_paper_width(width: PaperWidth) -> None:
    long_name = "上海浦东新区陆家嘴环路一千号测试商户有限公司 Test Merchant Co., Ltd."
    for line in render_text(receipt(merchant_name=long_name), width):
        assert display_width(line) == width, line


def test_control_characters_in_a_field_cannot_reach_the_printer_as_commands() -> None:
    job = escpos_job(receipt(merchant_name="Shop\x1dV\x00\x1bp\x00", operator="0\n1"))
    assert job.count(b"\x1dV") == 1  # only our own cut
    assert b"\x1bp" not in job  # no cash-drawer kick
    assert "Shop?V??" in "\n".join(render_text(receipt(merchant_name="Shop\x1dV\x00\x1b")))


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(DocumentError, match="timezone"):
        receipt(when=receipt().when.replace(tzinfo=None))

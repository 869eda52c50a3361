"""The stored form: a queued slip comes back from the journal and prints byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from possettle.cards import CardOrg
from possettle.iso8583.fields import HalfTotals, SettlementTotals, SettleResult
from possettle.money import Money
from possettle.terminal.printer import documents
from possettle.terminal.printer.documents import (
    Copy,
    Document,
    DocumentError,
    Receipt,
    ReceiptKind,
    SettlementSlip,
    SlipOutcome,
    document_from_dict,
)
from possettle.terminal.printer.escpos_job import escpos_job
from possettle.terminal.printer.layout import PaperWidth, render_text

from .samples import receipt, slip

names = st.text(max_size=60)  # any Unicode, control characters included
seq = st.integers(0, 999_999)
whens = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]),
)

receipts = st.builds(
    Receipt,
    kind=st.sampled_from(ReceiptKind),
    copy=st.sampled_from(Copy),
    merchant_name=names,
    mid=st.text("0123456789", min_size=15, max_size=15),
    tid=st.text("0123456789", min_size=8, max_size=8),
    operator=st.text(max_size=4),
    batch=seq,
    stan=seq,
    when=whens,
    card_org=st.sampled_from(CardOrg),
    pan_last4=st.text("0123456789", min_size=13, max_size=19),
    amount=st.builds(
        Money, st.integers(0, 999_999_999_999), st.sampled_from(["156", "840", "392"])
    ),
    rrn=st.none() | st.text("0123456789", min_size=12, max_size=12),
    auth_code=st.none() | st.text("0123456789ABCDEF", min_size=6, max_size=6),
    original_stan=st.none() | seq,
    original_rrn=st.none() | st.text("0123456789", min_size=12, max_size=12),
    reprint=st.booleans(),
)
halves = st.builds(
    HalfTotals,
    debit_amount=st.integers(0, 999_999_999_999),
    debit_count=st.integers(0, 999),
    credit_amount=st.integers(0, 999_999_999_999),
    credit_count=st.integers(0, 999),
    result=st.sampled_from([SettleResult.UNBALANCED, SettleResult.ERROR, SettleResult.REQUEST]),
)
slips = st.builds(
    SettlementSlip,
    merchant_name=names,
    mid=st.text("0123456789", min_size=15, max_size=15),
    tid=st.text("0123456789", min_size=8, max_size=8),
    operator=st.text(max_size=4),
    batch=seq,
    when=whens,
    totals=st.builds(SettlementTotals, halves, halves),
    outcome=st.sampled_from([SlipOutcome.UPLOADED, SlipOutcome.ALREADY_SETTLED]),
    reprint=st.booleans(),
)


def through_the_journal(doc: Document) -> Document:
    """What the terminal stores is JSON text; read it back the way reprint will."""
    return document_from_dict(json.loads(json.dumps(doc.to_dict(), ensure_ascii=False)))


@settings(max_examples=80, deadline=None)
@given(doc=receipts | slips, width=st.sampled_from(PaperWidth))
def test_a_stored_document_comes_back_equal_and_prints_identically(
    doc: Document, width: PaperWidth
) -> None:
    back = through_the_journal(doc)
    assert back == doc
    assert render_text(back, width) == render_text(doc, width)
    assert escpos_job(back, width) == escpos_job(doc, width)


def test_the_stored_receipt_holds_only_the_last_4_digits() -> None:
    stored = receipt("6222021234567890128").to_dict()
    assert stored["pan_last4"] == "0128"
    assert "622202" not in json.dumps(stored)


def test_a_balanced_slip_round_trips() -> None:
    s = slip()
    assert through_the_journal(s) == s
    assert through_the_journal(s.as_reprint()) == s.as_reprint()


def broken(doc: Document, **changes: Any) -> dict[str, Any]:
    data = doc.to_dict()
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (broken(receipt(), type="ticket"), r"type 'ticket' is neither"),
        (broken(receipt(), version=2), r"receipt: version 2 is not supported"),
        (broken(receipt(), stan=...), r"receipt: stan is missing"),
        (broken(receipt(), stan="000123"), r"receipt: stan has type str"),
        (broken(receipt(), batch=True), r"receipt: batch has type bool"),
        (broken(receipt(), kind="cashback"), r"receipt: kind 'cashback' is unknown"),
        (broken(receipt(), when="yesterday"), r"receipt: when is not an ISO date-time"),
        (broken(receipt(), amount=-1), r"receipt: amount: amount -1 is outside"),
        (broken(receipt(), pan_last4="12"), r"pan_last4: expected a PAN"),
        (
            broken(slip(), domestic={"result": "balanced"}),
            r"settlement_slip: domestic\.debit_amount is missing",
        ),
        (
            broken(slip(), foreign={**slip().to_dict()["foreign"], "result": "maybe"}),
            r"settlement_slip: foreign\.result 'maybe'",
        ),
        (broken(slip(), outcome="fine"), r"settlement_slip: outcome 'fine' is unknown"),
    ],
)
def test_a_damaged_stored_document_is_refused_naming_the_key(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(DocumentError, match=message):
        document_from_dict(data)


def test_the_journal_can_read_a_queued_document_without_loading_the_printer_driver() -> None:
    code = (
        "import sys, possettle.terminal.printer.documents, possettle.terminal.printer.layout;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'escpos'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_of_the_documents_module_are_pinned() -> None:
    assert sorted(documents.__all__) == [
        "Copy",
        "Document",
        "DocumentError",
        "FORMAT_VERSION",
        "Receipt",
        "ReceiptKind",
        "SettlementSlip",
        "SlipOutcome",
        "document_from_dict",
        "keep_last4",
    ]

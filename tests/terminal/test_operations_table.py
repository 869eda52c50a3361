"""The sans-IO layer (``terminal/operations/``) one transition a line: state + event → next.

Each case is named as the sentence it checks; the shell (``transactions.py``, ``settlement_run.py``)
only carries these decisions out, so a wrong line here is a wrong journal at a merchant.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from possettle.iso8583.fields import SettlementTotals
from possettle.terminal.journal.records import (
    SettlementRow,
    SettleResultKind,
    SettleStep,
    TxnKind,
    TxnRow,
    TxnState,
)
from possettle.terminal.operations import online
from possettle.terminal.operations import settlement as plan
from possettle.terminal.operations.online import Outcome
from tests.terminal.rows import BALANCED, DOMESTIC_OFF, FOREIGN_OFF, settlement, txn

SALE, VOID, REFUND, OFFLINE = TxnKind.SALE, TxnKind.VOID, TxnKind.REFUND, TxnKind.OFFLINE_SALE
PENDING, APPROVED, DECLINED = TxnState.PENDING, TxnState.APPROVED, TxnState.DECLINED
FAILED, OFFLINE_PENDING = TxnState.FAILED, TxnState.OFFLINE_PENDING


def reply(code: str, *, resign: bool = False) -> Callable[[TxnKind], Outcome]:
    fields = {"39": code, "37": "123456789012", "38": "654321"} if code == "00" else {"39": code}
    return lambda kind: online.on_reply(kind, fields, resign=resign)


# (kind, event, state, code, reversal, resign)
ONLINE = [
    pytest.param(SALE, reply("00"), APPROVED, "00", None, False,
                 id="a sale answered 00 is approved and its reversal is dropped"),
    pytest.param(SALE, reply("51"), DECLINED, "51", None, False,
                 id="a sale answered 51 is declined and needs no reversal"),
    pytest.param(SALE, reply("00", resign=True), APPROVED, "00", None, True,
                 id="an approval whose header asks for a sign-on is kept and marks sign on again"),
    pytest.param(SALE, reply("A0"), DECLINED, "A0", None, True,
                 id="a sale answered A0 was not processed and marks sign on again"),
    pytest.param(SALE, reply("77"), DECLINED, "77", None, True,
                 id="a sale answered 77 marks sign on again"),
    pytest.param(SALE, online.on_no_reply, PENDING, "", "98", False,
                 id="a sale without a reply stays pending with a reversal for reason 98"),
    pytest.param(SALE, online.on_bad_mac, PENDING, "A0", "A0", True,
                 id="a sale approved under a bad MAC is reversed for reason A0 and signs on again"),
    pytest.param(SALE, online.on_not_sent, FAILED, "", None, False,
                 id="a sale that never left fails and needs no reversal"),
    pytest.param(VOID, reply("00"), APPROVED, "00", None, False,
                 id="a void answered 00 is approved"),
    pytest.param(VOID, online.on_no_reply, PENDING, "", "98", False,
                 id="a void without a reply is reversed like a sale"),
    pytest.param(VOID, online.on_bad_mac, PENDING, "A0", "A0", True,
                 id="a void approved under a bad MAC is reversed for reason A0"),
    pytest.param(REFUND, reply("00"), APPROVED, "00", None, False,
                 id="a refund answered 00 is approved"),
    pytest.param(REFUND, reply("51"), DECLINED, "51", None, False,
                 id="a refund answered 51 is declined"),
    pytest.param(REFUND, reply("22"), PENDING, "22", None, True,
                 id="a refund answered 22 stays pending for a repeat after sign-on"),
    pytest.param(REFUND, online.on_no_reply, PENDING, "", None, False,
                 id="a refund without a reply is repeated never reversed"),
    pytest.param(REFUND, online.on_bad_mac, PENDING, "A0", None, True,
                 id="a refund approved under a bad MAC is repeated after sign-on never reversed"),
    pytest.param(REFUND, online.on_not_sent, PENDING, "", None, False,
                 id="a refund that never left waits to be sent"),
    pytest.param(OFFLINE, reply("00"), APPROVED, "00", None, False,
                 id="an offline advice answered 00 is approved"),
    pytest.param(OFFLINE, reply("94"), APPROVED, "94", None, False,
                 id="an offline advice answered 94 was already at the host and is approved"),
    pytest.param(OFFLINE, reply("51"), OFFLINE_PENDING, "51", None, False,
                 id="an offline advice answered 51 is repeated never declined"),
    pytest.param(OFFLINE, reply("A0"), OFFLINE_PENDING, "A0", None, True,
                 id="an offline advice answered A0 waits for a sign-on"),
    pytest.param(OFFLINE, online.on_no_reply, OFFLINE_PENDING, "", None, False,
                 id="an offline advice without a reply stays waiting"),
    pytest.param(OFFLINE, online.on_bad_mac, OFFLINE_PENDING, "A0", None, True,
                 id="an offline advice under a bad MAC stays waiting and signs on again"),
    pytest.param(OFFLINE, online.on_not_sent, OFFLINE_PENDING, "", None, False,
                 id="an offline advice that never left stays waiting"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "event", "state", "code", "reversal", "resign"), ONLINE)
def test_online(
    kind: TxnKind,
    event: Callable[[TxnKind], Outcome],
    state: TxnState,
    code: str,
    reversal: str | None,
    resign: bool,
) -> None:
    outcome = event(kind)
    assert (outcome.state, outcome.code, outcome.reversal, outcome.resign) == (
        state,
        code,
        reversal,
        resign,
    )


def test_an_approval_carries_the_hosts_reference_and_auth_code() -> None:
    outcome = reply("00")(SALE)
    assert (outcome.rrn, outcome.auth_code, outcome.approved) == ("123456789012", "654321", True)


@pytest.mark.parametrize(
    ("code", "finished"),
    [
        pytest.param("00", True, id="a reversal answered 00 is finished"),
        pytest.param("25", True, id="a reversal answered 25 is finished: the host never saw it"),
        pytest.param("", False, id="a reversal without a reply stays pending"),
        pytest.param("A0", False, id="a reversal answered A0 stays pending"),
        pytest.param("96", False, id="a reversal answered 96 stays pending"),
    ],
)
def test_reversal(code: str, finished: bool) -> None:
    assert online.reversal_finished(code) is finished


# ------------------------------------------------------------------ settlement: host replies

T = plan.Transition
BATCH_UPLOAD, UPLOAD_END, PRINT = SettleStep.BATCH_UPLOAD, SettleStep.UPLOAD_END, SettleStep.PRINT
SETTLE = SettleStep.SETTLE

REPLIES = [
    pytest.param(lambda: plan.after_settle("00", BALANCED, resign=False),
                 T(UPLOAD_END, SettleResultKind.BALANCED, host_totals=BALANCED),
                 id="a 0500 answered 00 with both halves balanced goes to the upload end"),
    pytest.param(lambda: plan.after_settle("00", DOMESTIC_OFF, resign=False),
                 T(BATCH_UPLOAD, SettleResultKind.BALANCED_AFTER_UPLOAD, host_totals=DOMESTIC_OFF),
                 id="a 0500 answered 00 with the domestic half off goes to the batch upload"),
    pytest.param(lambda: plan.after_settle("00", FOREIGN_OFF, resign=False),
                 T(BATCH_UPLOAD, SettleResultKind.BALANCED_AFTER_UPLOAD, host_totals=FOREIGN_OFF),
                 id="a 0500 answered 00 with the foreign half off goes to the batch upload"),
    pytest.param(lambda: plan.after_settle("00", "", resign=False),
                 T(BATCH_UPLOAD, SettleResultKind.BALANCED_AFTER_UPLOAD),
                 id="a 0500 answered 00 without totals uploads every record for the host to match"),
    pytest.param(lambda: plan.after_settle("00", "9" * 62, resign=False),
                 T(BATCH_UPLOAD, SettleResultKind.BALANCED_AFTER_UPLOAD),
                 id="a 0500 answered 00 with unreadable totals uploads every record keeping none"),
    pytest.param(lambda: plan.after_settle("94", "12", resign=False),
                 T(PRINT, SettleResultKind.ALREADY_SETTLED),
                 id="a 0500 answered 94 with unreadable totals is settled and keeps none"),
    pytest.param(lambda: plan.after_settle("94", "", resign=False),
                 T(PRINT, SettleResultKind.ALREADY_SETTLED),
                 id="a 0500 answered 94 is already settled and goes to print"),
    pytest.param(lambda: plan.after_settle("96", "", resign=False),
                 T(SETTLE, failure="96"),
                 id="a 0500 answered 96 stays at settle and names 96"),
    pytest.param(lambda: plan.after_settle("77", "", resign=False),
                 T(SETTLE, failure="77", resign=True),
                 id="a 0500 answered 77 stays at settle and asks for a sign-on"),
    pytest.param(lambda: plan.after_settle("96", "", resign=True),
                 T(SETTLE, failure="96", resign=True),
                 id="a 0500 refused under a sign-on header asks for a sign-on"),
    pytest.param(lambda: plan.after_upload("00"), T(BATCH_UPLOAD),
                 id="a 0320 answered 00 goes on with the next chunk"),
    pytest.param(lambda: plan.after_upload("94"), T(BATCH_UPLOAD),
                 id="a 0320 answered 94 is already at the host and goes on"),
    pytest.param(lambda: plan.after_upload("96"), T(BATCH_UPLOAD, failure="96"),
                 id="a 0320 answered 96 stops the upload and names 96"),
    pytest.param(lambda: plan.after_upload("A0"), T(BATCH_UPLOAD, failure="A0", resign=True),
                 id="a 0320 answered A0 asks for a sign-on"),
    pytest.param(lambda: plan.after_upload_end("00"), T(PRINT),
                 id="an upload end answered 00 goes to print"),
    pytest.param(lambda: plan.after_upload_end("94"), T(UPLOAD_END, failure="94"),
                 id="an upload end answered 94 stays at the upload end"),
    pytest.param(lambda: plan.after_upload_end("22"), T(UPLOAD_END, failure="22", resign=True),
                 id="an upload end answered 22 asks for a sign-on"),
]  # fmt: skip


@pytest.mark.parametrize(("decide", "expected"), REPLIES)
def test_settlement_reply(decide: Callable[[], plan.Transition], expected: plan.Transition) -> None:
    assert decide() == expected


@pytest.mark.parametrize(
    ("host", "confirmed"),
    [
        pytest.param(BALANCED, True, id="a 94 with both halves balanced confirms the batch"),
        pytest.param(DOMESTIC_OFF, False, id="a 94 with a half off does not confirm"),
        pytest.param("", False, id="a 94 without totals does not confirm"),
        pytest.param("12", False, id="a 94 with a malformed field 48 does not confirm"),
    ],
)
def test_already_settled_confirmation(host: str, confirmed: bool) -> None:
    assert plan.confirms(host) is confirmed


# ------------------------------------------------------------------ settlement: next message

SALE_CUP = txn(1, amount=1000)
SALE_VISA = txn(2, amount=4000, domestic=False)
REFUND_CUP = txn(3, kind=REFUND, amount=300)
VOIDED = txn(4, amount=700, voided=True)
VOID_ROW = txn(5, kind=VOID, amount=700)
DECLINED_ROW = txn(6, state=DECLINED, amount=900)
OFFLINE_ROW = txn(7, kind=OFFLINE, state=OFFLINE_PENDING, amount=200)
BATCH = [SALE_CUP, SALE_VISA, REFUND_CUP, VOIDED, VOID_ROW, DECLINED_ROW, OFFLINE_ROW]
TEN = [txn(i, amount=100 * i) for i in range(1, 11)]
STORED = str(plan.totals([SALE_CUP]))


def items(*rows: TxnRow) -> plan.SendUpload:
    return plan.SendUpload(tuple(rows))


NEXT = [
    pytest.param(settlement(SETTLE), BATCH, plan.SendSettle(plan.totals(BATCH)),
                 id="at settle the 0500 carries the batch totals"),
    pytest.param(settlement(SETTLE, terminal_totals=STORED), BATCH,
                 plan.SendSettle(SettlementTotals.parse(STORED)),
                 id="a resumed 0500 repeats the totals it recorded not the batch as it is now"),
    pytest.param(settlement(BATCH_UPLOAD, host_totals=DOMESTIC_OFF), BATCH,
                 items(SALE_CUP, SALE_VISA, REFUND_CUP, OFFLINE_ROW),
                 id="an unbalanced half uploads every counted record of both halves"),
    pytest.param(settlement(BATCH_UPLOAD, host_totals="12"), BATCH,
                 items(SALE_CUP, SALE_VISA, REFUND_CUP, OFFLINE_ROW),
                 id="unreadable host totals kept by an older journal upload every counted record"),
    pytest.param(settlement(BATCH_UPLOAD, host_totals=BALANCED), BATCH,
                 plan.SendUploadEnd(0, balanced=False),
                 id="a batch upload with both halves balanced has nothing to upload"),
    pytest.param(settlement(BATCH_UPLOAD, host_totals=FOREIGN_OFF), TEN, items(*TEN[:8]),
                 id="a batch upload sends at most eight records a message"),
    pytest.param(settlement(BATCH_UPLOAD, host_totals=FOREIGN_OFF, uploaded=8),
                 [txn(i, uploaded=i <= 8) for i in range(1, 11)],
                 items(*[txn(i) for i in (9, 10)]),
                 id="a batch upload never sends a record already acknowledged"),
    pytest.param(settlement(BATCH_UPLOAD, host_totals=FOREIGN_OFF, upload_stan=42,
                            upload_ids="[9, 10]"), [txn(9), txn(10)], items(txn(9), txn(10)),
                 id="a chunk recorded in flight is repeated exactly"),
    pytest.param(settlement(BATCH_UPLOAD, host_totals=DOMESTIC_OFF, uploaded=10),
                 [txn(i, uploaded=True) for i in range(1, 11)],
                 plan.SendUploadEnd(10, balanced=False),
                 id="after the last acknowledged chunk the upload end counts every record"),
    pytest.param(settlement(UPLOAD_END, result=SettleResultKind.BALANCED), [],
                 plan.SendUploadEnd(0, balanced=True),
                 id="a balanced settlement ends its upload as balanced"),
    pytest.param(settlement(UPLOAD_END, result=SettleResultKind.BALANCED_AFTER_UPLOAD,
                            uploaded=3), [], plan.SendUploadEnd(3, balanced=False),
                 id="an uploaded settlement ends its upload with the count it uploaded"),
    pytest.param(settlement(PRINT), [], plan.PrintSlip(), id="at print the slip is printed"),
    pytest.param(settlement(SettleStep.CLEAR), [], plan.CloseBatch(),
                 id="at clear the batch is closed"),
    pytest.param(settlement(SettleStep.DONE), BATCH, plan.Finished(),
                 id="a finished settlement sends nothing whatever the batch holds"),
]  # fmt: skip


@pytest.mark.parametrize(("row", "rows", "action"), NEXT)
def test_next_action(row: SettlementRow, rows: list[TxnRow], action: plan.Action) -> None:
    assert plan.next_action(row, rows) == action


@pytest.mark.parametrize(
    "step",
    [SettleStep.SIGN_ON, SettleStep.REVERSAL, SettleStep.OFFLINE_UPLOAD],
    ids=lambda s: f"the shell runs {s} itself",
)
def test_steps_before_the_0500_are_not_planned_here(step: SettleStep) -> None:
    with pytest.raises(ValueError, match=str(step)):
        plan.next_action(settlement(step), [])


def test_totals_count_approved_and_offline_sales_as_debits_and_refunds_as_credits() -> None:
    t = plan.totals(BATCH)
    assert (t.domestic.debit_amount, t.domestic.debit_count) == (1200, 2)
    assert (t.domestic.credit_amount, t.domestic.credit_count) == (300, 1)
    assert (t.foreign.debit_amount, t.foreign.debit_count) == (4000, 1)
    assert (t.foreign.credit_amount, t.foreign.credit_count) == (0, 0)


def test_an_upload_record_carries_the_org_flag_stan_pan_and_amount() -> None:
    record = plan.upload_record(SALE_VISA, "4111111111111111")
    assert str(record) == "01" + "000002" + "4111111111111111".rjust(20, "0") + "000000004000"

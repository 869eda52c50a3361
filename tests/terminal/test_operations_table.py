"""The sans-IO layer (``terminal/operations/``) one transition a line: state + event → next.

Each case is named as the sentence it checks; the shell (``transactions.py``,
``settlement_run.py``) only carries these decisions out, so a wrong line here is a wrong journal
at a merchant. The events are the answers the shell hands over
(:mod:`possettle.terminal.operations.answer`): a reply, silence, a dropped connection, a bad
MAC, or a host that could not be reached.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from possettle.crypto.errors import KeyCheckError, KeyMaterialError
from possettle.crypto.keys import Key, WorkingKeys, encode_field62
from possettle.iso8583.fields import Field60, NetworkCode, SettlementTotals, TxnType
from possettle.terminal.errors import BadReplyMac, HostUnreachable, NoReply, ReplyTimeout
from possettle.terminal.journal.records import (
    SettlementRow,
    SettleResultKind,
    SettleStep,
    TxnKind,
    TxnRow,
    TxnState,
)
from possettle.terminal.operations import online, signon
from possettle.terminal.operations import settlement as plan
from possettle.terminal.operations.answer import Answer, BadMac, NotSent, Replied, Unanswered
from possettle.terminal.operations.online import Outcome
from tests.terminal.rows import BALANCED, DOMESTIC_OFF, FOREIGN_OFF, settlement, txn

SALE, VOID, REFUND, OFFLINE = TxnKind.SALE, TxnKind.VOID, TxnKind.REFUND, TxnKind.OFFLINE_SALE
PENDING, APPROVED, DECLINED = TxnState.PENDING, TxnState.APPROVED, TxnState.DECLINED
FAILED, OFFLINE_PENDING = TxnState.FAILED, TxnState.OFFLINE_PENDING


SILENCE = Unanswered(ReplyTimeout("no reply within 10.0s"))
DROPPED = Unanswered(NoReply("connection lost: [Errno 104] Connection reset by peer"))
BAD_MAC = BadMac(BadReplyMac("reply to STAN 000001 has a bad MAC"))
NOT_SENT = NotSent(HostUnreachable("cannot connect to 127.0.0.1:1: [Errno 111] refused"))


def reply(code: str, *, resign: bool = False) -> Callable[[TxnKind], Outcome]:
    fields = {"39": code, "37": "123456789012", "38": "654321"} if code == "00" else {"39": code}
    return lambda kind: online.outcome(kind, Replied(fields, resign=resign))


def on(answer: Answer) -> Callable[[TxnKind], Outcome]:
    return lambda kind: online.outcome(kind, answer)


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
    pytest.param(SALE, on(SILENCE), PENDING, "", "98", False,
                 id="a sale without a reply stays pending with a reversal for reason 98"),
    pytest.param(SALE, on(DROPPED), PENDING, "", "98", False,
                 id="a sale whose connection dropped after it left is reversed for reason 98"),
    pytest.param(SALE, on(BAD_MAC), PENDING, "A0", "A0", True,
                 id="a sale approved under a bad MAC is reversed for reason A0 and signs on again"),
    pytest.param(SALE, on(NOT_SENT), FAILED, "", None, False,
                 id="a sale that never left fails and needs no reversal"),
    pytest.param(VOID, reply("00"), APPROVED, "00", None, False,
                 id="a void answered 00 is approved"),
    pytest.param(VOID, on(SILENCE), PENDING, "", "98", False,
                 id="a void without a reply is reversed like a sale"),
    pytest.param(VOID, on(BAD_MAC), PENDING, "A0", "A0", True,
                 id="a void approved under a bad MAC is reversed for reason A0"),
    pytest.param(REFUND, reply("00"), APPROVED, "00", None, False,
                 id="a refund answered 00 is approved"),
    pytest.param(REFUND, reply("51"), DECLINED, "51", None, False,
                 id="a refund answered 51 is declined"),
    pytest.param(REFUND, reply("22"), PENDING, "22", None, True,
                 id="a refund answered 22 stays pending for a repeat after sign-on"),
    pytest.param(REFUND, on(SILENCE), PENDING, "", None, False,
                 id="a refund without a reply is repeated never reversed"),
    pytest.param(REFUND, on(DROPPED), PENDING, "", None, False,
                 id="a refund whose connection dropped is repeated never reversed"),
    pytest.param(REFUND, on(BAD_MAC), PENDING, "A0", None, True,
                 id="a refund approved under a bad MAC is repeated after sign-on never reversed"),
    pytest.param(REFUND, on(NOT_SENT), PENDING, "", None, False,
                 id="a refund that never left waits to be sent"),
    pytest.param(OFFLINE, reply("00"), APPROVED, "00", None, False,
                 id="an offline advice answered 00 is approved"),
    pytest.param(OFFLINE, reply("94"), APPROVED, "94", None, False,
                 id="an offline advice answered 94 was already at the host and is approved"),
    pytest.param(OFFLINE, reply("51"), OFFLINE_PENDING, "51", None, False,
                 id="an offline advice answered 51 is repeated never declined"),
    pytest.param(OFFLINE, reply("A0"), OFFLINE_PENDING, "A0", None, True,
                 id="an offline advice answered A0 waits for a sign-on"),
    pytest.param(OFFLINE, on(SILENCE), OFFLINE_PENDING, "", None, False,
                 id="an offline advice without a reply stays waiting"),
    pytest.param(OFFLINE, on(BAD_MAC), OFFLINE_PENDING, "A0", None, True,
                 id="an offline advice under a bad MAC stays waiting and signs on again"),
    pytest.param(OFFLINE, on(NOT_SENT), OFFLINE_PENDING, "", None, False,
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
    ("answer", "code", "finished"),
    [
        pytest.param(Replied({"39": "00"}), "00", True, id="a reversal answered 00 is finished"),
        pytest.param(
            Replied({"39": "25"}),
            "25",
            True,
            id="a reversal answered 25 is finished: the host never saw it",
        ),
        pytest.param(SILENCE, "", False, id="a reversal without a reply stays pending"),
        pytest.param(DROPPED, "", False, id="a reversal whose connection dropped stays pending"),
        pytest.param(BAD_MAC, "A0", False, id="a reversal answered under a bad MAC stays pending"),
        pytest.param(Replied({"39": "A0"}), "A0", False, id="a reversal answered A0 stays pending"),
        pytest.param(Replied({"39": "96"}), "96", False, id="a reversal answered 96 stays pending"),
    ],
)
def test_reversal(answer: Replied | Unanswered | BadMac, code: str, finished: bool) -> None:
    assert online.reversal_code(answer) == code
    assert online.reversal_finished(code) is finished


# ------------------------------------------------------------------ sign-on

TMK = Key.from_hex("0123456789ABCDEFFEDCBA9876543210")
OTHER_TMK = Key.from_hex("FEDCBA98765432100123456789ABCDEF")
WORKING = WorkingKeys(pik=Key.from_hex("11" * 8 + "22" * 8), mak=Key.from_hex("33" * 8))
FIELD62 = encode_field62(TMK, WORKING).hex().upper()
FIELD60 = str(Field60(TxnType.MANAGEMENT, 42, NetworkCode.SIGN_ON))


def r0810(code: str, **fields: str) -> dict[str, str]:
    return {"39": code, **{f.removeprefix("f"): v for f, v in fields.items()}}


SIGN_ON = [
    pytest.param(
        r0810("00", f62=FIELD62, f60=FIELD60),
        TMK,
        signon.SignedOn(WORKING, 42),
        id="an 0810 approved with keys under our TMK signs on in the host's batch",
    ),
    pytest.param(
        r0810("58", f63="MINVER=010200"),
        TMK,
        signon.SignOnRefused("58", "MINVER=010200"),
        id="an 0810 answered 58 is refused with field 63 as the host sent it",
    ),
    pytest.param(
        r0810("03"),
        TMK,
        signon.SignOnRefused("03", ""),
        id="an 0810 answered 03 without field 63 is refused",
    ),
    pytest.param(
        r0810("00", f62=FIELD62, f60=FIELD60),
        OTHER_TMK,
        KeyCheckError,
        id="keys under another TMK fail their check and are not loaded",
    ),
    pytest.param(
        r0810("00", f62=FIELD62[:40], f60=FIELD60),
        TMK,
        KeyMaterialError,
        id="a field 62 cut short is unreadable",
    ),
    pytest.param(
        r0810("00", f60=FIELD60),
        TMK,
        KeyError,
        id="an approval without field 62 carries no keys to load",
    ),
    pytest.param(
        r0810("00", f62="XYZ", f60=FIELD60),
        TMK,
        ValueError,
        id="a field 62 that is not hex is unreadable",
    ),
]


@pytest.mark.parametrize(("reply", "tmk", "expected"), SIGN_ON)
def test_sign_on(
    reply: dict[str, str], tmk: Key, expected: signon.SignOnOutcome | type[Exception]
) -> None:
    outcome = signon.after_sign_on(reply, tmk)
    if isinstance(expected, type):
        assert isinstance(outcome, signon.KeysUnreadable)
        assert type(outcome.error) is expected
    else:
        assert outcome == expected


# ------------------------------------------------------------------ settlement: host replies

A, S, STOP = plan.Advance, plan.SignOnAgain, plan.Stop
BATCH_UPLOAD, UPLOAD_END, PRINT = SettleStep.BATCH_UPLOAD, SettleStep.UPLOAD_END, SettleStep.PRINT
SETTLE = SettleStep.SETTLE
SPENT = plan.MAX_RESIGNS  # fresh sign-ons this run: none left


def r0510(code: str, field48: str = "", *, resign: bool = False) -> Replied:
    return Replied({"39": code, "48": field48} if field48 else {"39": code}, resign=resign)


def r(code: str, *, resign: bool = False) -> Replied:
    return Replied({"39": code}, resign=resign)


REPLIES = [
    pytest.param(lambda: plan.after_settle(r0510("00", BALANCED)),
                 A(UPLOAD_END, SettleResultKind.BALANCED, host_totals=BALANCED),
                 id="a 0500 answered 00 with both halves balanced goes to the upload end"),
    pytest.param(lambda: plan.after_settle(r0510("00", DOMESTIC_OFF)),
                 A(BATCH_UPLOAD, SettleResultKind.BALANCED_AFTER_UPLOAD, host_totals=DOMESTIC_OFF),
                 id="a 0500 answered 00 with the domestic half off goes to the batch upload"),
    pytest.param(lambda: plan.after_settle(r0510("00", FOREIGN_OFF)),
                 A(BATCH_UPLOAD, SettleResultKind.BALANCED_AFTER_UPLOAD, host_totals=FOREIGN_OFF),
                 id="a 0500 answered 00 with the foreign half off goes to the batch upload"),
    pytest.param(lambda: plan.after_settle(r0510("00")),
                 A(BATCH_UPLOAD, SettleResultKind.BALANCED_AFTER_UPLOAD),
                 id="a 0500 answered 00 without totals uploads every record for the host to match"),
    pytest.param(lambda: plan.after_settle(r0510("00", "9" * 62)),
                 A(BATCH_UPLOAD, SettleResultKind.BALANCED_AFTER_UPLOAD),
                 id="a 0500 answered 00 with unreadable totals uploads every record keeping none"),
    pytest.param(lambda: plan.after_settle(r0510("94", BALANCED)),
                 A(PRINT, SettleResultKind.ALREADY_SETTLED, host_totals=BALANCED),
                 id="a 0500 answered 94 with our totals balanced is settled and confirmed"),
    pytest.param(lambda: plan.after_settle(r0510("94", DOMESTIC_OFF)),
                 A(PRINT, SettleResultKind.ALREADY_SETTLED, host_totals=DOMESTIC_OFF,
                   unconfirmed=True),
                 id="a 0500 answered 94 with a half off is settled but unconfirmed"),
    pytest.param(lambda: plan.after_settle(r0510("94", "12")),
                 A(PRINT, SettleResultKind.ALREADY_SETTLED, unconfirmed=True),
                 id="a 0500 answered 94 with garbled totals is settled unconfirmed and keeps none"),
    pytest.param(lambda: plan.after_settle(r0510("94")),
                 A(PRINT, SettleResultKind.ALREADY_SETTLED, unconfirmed=True),
                 id="a 0500 answered 94 without totals is settled but unconfirmed"),
    pytest.param(lambda: plan.after_settle(r0510("96")), STOP("96", "0500 answered 96"),
                 id="a 0500 answered 96 stops at settle and names 96"),
    pytest.param(lambda: plan.after_settle(r0510("77")), S("77", fresh_stan=True),
                 id="a 0500 answered 77 signs on again and sends a fresh 0500"),
    pytest.param(lambda: plan.after_settle(r0510("77"), resigns=SPENT),
                 STOP("77", "0500 answered 77"),
                 id="a second 0500 answered 77 in one run stops and names 77"),
    pytest.param(lambda: plan.after_settle(r0510("96", resign=True)), S("96", fresh_stan=True),
                 id="a 0500 refused under a sign-on header signs on again"),
    pytest.param(lambda: plan.after_settle(BAD_MAC), S("A0"),
                 id="a 0510 under a bad MAC signs on again and repeats the same 0500"),
    pytest.param(lambda: plan.after_settle(BAD_MAC, resigns=SPENT),
                 STOP("A0", "reply to STAN 000001 has a bad MAC"),
                 id="a second 0510 under a bad MAC in one run stops with A0"),
    pytest.param(lambda: plan.after_settle(SILENCE), STOP("", "no reply within 10.0s", link=True),
                 id="a 0500 without a reply stops at settle as a link failure"),
    pytest.param(lambda: plan.after_settle(NOT_SENT),
                 STOP("", str(NOT_SENT.error), link=True),
                 id="a 0500 that could not be sent stops at settle as a link failure"),
    pytest.param(lambda: plan.after_upload(r("00")), A(BATCH_UPLOAD),
                 id="a 0320 answered 00 goes on with the next chunk"),
    pytest.param(lambda: plan.after_upload(r("94")), A(BATCH_UPLOAD),
                 id="a 0320 answered 94 is already at the host and goes on"),
    pytest.param(lambda: plan.after_upload(r("96")), STOP("96", "0320 upload answered 96"),
                 id="a 0320 answered 96 stops the upload and names 96"),
    pytest.param(lambda: plan.after_upload(r("A0")), S("A0"),
                 id="a 0320 answered A0 signs on again and repeats the same chunk"),
    pytest.param(lambda: plan.after_upload(r("A0"), resigns=SPENT),
                 STOP("A0", "0320 upload answered A0"),
                 id="a second 0320 answered A0 in one run stops and names A0"),
    pytest.param(lambda: plan.after_upload(BAD_MAC), S("A0"),
                 id="a 0330 under a bad MAC signs on again and repeats the same chunk"),
    pytest.param(lambda: plan.after_upload(DROPPED), STOP("", str(DROPPED.error), link=True),
                 id="a 0320 whose connection dropped stops the upload as a link failure"),
    pytest.param(lambda: plan.after_upload_end(r("00")), A(PRINT),
                 id="an upload end answered 00 goes to print"),
    pytest.param(lambda: plan.after_upload_end(r("94")), STOP("94", "upload end answered 94"),
                 id="an upload end answered 94 stops at the upload end"),
    pytest.param(lambda: plan.after_upload_end(r("22")), S("22"),
                 id="an upload end answered 22 signs on again and repeats it"),
    pytest.param(lambda: plan.after_upload_end(r("00", resign=True)), A(PRINT),
                 id="an upload end answered 00 under a sign-on header is taken"),
    pytest.param(lambda: plan.after_upload_end(BAD_MAC, resigns=SPENT),
                 STOP("A0", str(BAD_MAC.error)),
                 id="a second upload end under a bad MAC in one run stops with A0"),
    pytest.param(lambda: plan.after_upload_end(SILENCE), STOP("", str(SILENCE.error), link=True),
                 id="an upload end without a reply stops as a link failure"),
    pytest.param(lambda: plan.after_reversals(0, signed_on=True), A(SettleStep.OFFLINE_UPLOAD),
                 id="no reversal left goes on to the offline upload"),
    pytest.param(lambda: plan.after_reversals(2, signed_on=False), S(""),
                 id="reversals left after a reply asked for a sign-on sign on and go again"),
    pytest.param(lambda: plan.after_reversals(2, signed_on=True),
                 STOP("", "2 reversal(s) could not be delivered"),
                 id="reversals left while signed on stop before the 0500"),
    pytest.param(lambda: plan.after_reversals(1, signed_on=False, resigns=SPENT),
                 STOP("", "1 reversal(s) could not be delivered"),
                 id="reversals left after the one fresh sign-on stop before the 0500"),
    pytest.param(lambda: plan.after_advices(0, signed_on=True), A(SETTLE),
                 id="no advice left goes on to the 0500"),
    pytest.param(lambda: plan.after_advices(1, signed_on=False), S(""),
                 id="an advice left after a reply asked for a sign-on signs on and goes again"),
    pytest.param(lambda: plan.after_advices(1, signed_on=True),
                 STOP("", "offline advices were not acknowledged"),
                 id="an advice left while signed on stops before the 0500"),
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

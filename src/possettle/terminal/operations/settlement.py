"""Settlement (protocol §4) as explicit steps; each decision is a pure function.

::

    sign_on → reversal → offline_upload → settle ─balanced──────────────▶ upload_end(207)
                                             └─unbalanced─▶ batch_upload ─▶ upload_end(202)
    upload_end → print → clear → done

Each reply (or its absence, :mod:`.answer`) becomes a :data:`Transition` the shell carries
out: :class:`Advance` to a step, :class:`SignOnAgain` and repeat, or :class:`Stop` here.

The journal keeps the step and the STAN of the message in flight, so a resumed settlement
repeats exactly the message it may already have sent (the host answers a repeat with its
stored reply) and never uploads or counts a record twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.iso8583.codes import HOST_HAS_IT, SIGN_ON_AGAIN
from possettle.iso8583.errors import DecodeError
from possettle.iso8583.fields import HalfTotals, SettlementTotals, SettleResult, UploadRecord
from possettle.link.failure import LinkFailure
from possettle.terminal.journal.records import (
    SettlementRow,
    SettleResultKind,
    SettleStep,
    TxnKind,
    TxnRow,
)
from possettle.terminal.operations.answer import Answer, BadMac, NotSent, Replied, Unanswered

RECORDS_PER_UPLOAD = 8  # protocol §4: at most 8 records per 0320
#: "sign on again" (§7): the host did not read the message (a 0500 or 0320 needs the MAC key)
RESIGN = SIGN_ON_AGAIN
#: Fresh sign-ons in one settlement run: one is enough to tell a stale session from a real
#: mismatch; a second refusal (or a second bad MAC) stops the settlement.
MAX_RESIGNS = 1


@dataclass(frozen=True, slots=True)
class SendSettle:
    totals: SettlementTotals


@dataclass(frozen=True, slots=True)
class SendUpload:
    items: tuple[TxnRow, ...]


@dataclass(frozen=True, slots=True)
class SendUploadEnd:
    count: int
    balanced: bool


@dataclass(frozen=True, slots=True)
class PrintSlip:
    pass


@dataclass(frozen=True, slots=True)
class CloseBatch:
    pass


@dataclass(frozen=True, slots=True)
class Finished:
    pass


Action = SendSettle | SendUpload | SendUploadEnd | PrintSlip | CloseBatch | Finished


@dataclass(frozen=True, slots=True)
class Advance:
    """The host took the message: record ``step`` (with ``result`` and ``host_totals``) and go on.

    ``host_totals`` is the 0510's field 48 to journal: empty when the host sent none or none
    that reads as totals (the rest of the settlement then treats both halves as unbalanced).
    ``unconfirmed``: closed on the host's word (94) without totals confirming ours, a case for
    the acquirer (causes.md: batch.already_settled).
    """

    step: SettleStep
    result: str = ""
    host_totals: str = ""
    unconfirmed: bool = False


@dataclass(frozen=True, slots=True)
class SignOnAgain:
    """The host did not read the message (A0, 22, 77, header requirement 3) or its reply cannot
    be trusted (a bad MAC): sign on once more, then send the message again — under a fresh
    STAN when ``fresh_stan``, else the very same (the host answers a repeat with its stored
    reply)."""

    code: str
    fresh_stan: bool = False


@dataclass(frozen=True, slots=True)
class Stop:
    """The settlement stops at its step: ``code`` is the host's answer (empty when none came),
    ``link`` says the host could not be reached or went silent, ``link_failure`` how."""

    code: str
    message: str
    link: bool = False
    link_failure: LinkFailure | None = None


Transition = Advance | SignOnAgain | Stop


def totals(rows: list[TxnRow]) -> SettlementTotals:
    """Protocol §4 totals of a batch's rows: domestic (CUP) then foreign."""
    halves: dict[bool, list[int]] = {True: [0, 0, 0, 0], False: [0, 0, 0, 0]}
    for t in rows:
        if not t.counts_in_totals:
            continue
        h = halves[t.domestic]
        if t.kind is TxnKind.REFUND:
            h[2] += t.amount
            h[3] += 1
        else:
            h[0] += t.amount
            h[1] += 1
    d, f = halves[True], halves[False]
    return SettlementTotals(HalfTotals(d[0], d[1], d[2], d[3]), HalfTotals(f[0], f[1], f[2], f[3]))


def unbalanced_halves(host_totals: str) -> tuple[bool, bool]:
    """(domestic, foreign): which halves the host reported as not balanced; both when its
    totals are missing or unreadable (the host then matches the whole batch)."""
    totals = readable(host_totals)
    if totals is None:
        return (True, True)
    return (
        totals.domestic.result is not SettleResult.BALANCED,
        totals.foreign.result is not SettleResult.BALANCED,
    )


def upload_items(row: SettlementRow, rows: list[TxnRow]) -> list[TxnRow]:
    """Records still to upload: once a half is out of balance, every counted transaction.

    Protocol §4 has the terminal upload every transaction of the batch (each record carries
    its card-organisation flag), so the host can match the whole batch, both halves.
    """
    domestic, foreign = unbalanced_halves(row.host_totals)
    if not (domestic or foreign):
        return []
    return [t for t in rows if t.counts_in_totals and t.kind is not TxnKind.VOID and not t.uploaded]


def next_action(row: SettlementRow, rows: list[TxnRow]) -> Action:
    step = row.step
    if step is SettleStep.SETTLE:
        if row.terminal_totals:
            return SendSettle(SettlementTotals.parse(row.terminal_totals))
        return SendSettle(totals(rows))
    if step is SettleStep.BATCH_UPLOAD:
        # A chunk recorded as in flight is repeated exactly (same STAN, same records).
        pending = list(rows) if row.upload_stan is not None else upload_items(row, rows)
        if not pending:
            return SendUploadEnd(row.uploaded, balanced=False)
        return SendUpload(tuple(pending[:RECORDS_PER_UPLOAD]))
    if step is SettleStep.UPLOAD_END:
        return SendUploadEnd(row.uploaded, balanced=row.result == SettleResultKind.BALANCED)
    if step is SettleStep.PRINT:
        return PrintSlip()
    if step is SettleStep.CLEAR:
        return CloseBatch()
    if step is SettleStep.DONE:
        return Finished()
    raise ValueError(f"step {step} is run by the shell before the 0500")


def readable(host_totals: str) -> SettlementTotals | None:
    """The host's field 48 as totals, ``None`` when it is missing or malformed."""
    try:
        return SettlementTotals.parse(host_totals)
    except DecodeError:
        return None


def after_settle(answer: Answer, *, resigns: int = 0) -> Transition:
    """Where the 0510 (or its absence) takes a settlement that has had ``resigns`` fresh
    sign-ons in this run."""
    if not isinstance(answer, Replied):
        return _unusable(answer, resigns)
    code, host_totals = answer.code, answer.reply.get("48", "")
    host = readable(host_totals)
    keep = host_totals if host is not None else ""
    if code == "00":
        if host is not None and host.balanced:
            return Advance(SettleStep.UPLOAD_END, SettleResultKind.BALANCED, host_totals=keep)
        # out of balance, or a verdict we cannot read: upload the batch for the host to match
        return Advance(
            SettleStep.BATCH_UPLOAD, SettleResultKind.BALANCED_AFTER_UPLOAD, host_totals=keep
        )
    if code == "94":
        # The host closed this batch already (a settlement whose end we did not record).
        return Advance(
            SettleStep.PRINT,
            SettleResultKind.ALREADY_SETTLED,
            host_totals=keep,
            unconfirmed=not confirms(host_totals),
        )
    # refused unread: a fresh 0500 after the sign-on
    return _refused(answer, "0500 answered", resigns, fresh_stan=True)


def confirms(host_totals: str) -> bool:
    """Whether a 94's field 48 confirms the batch the host closed is the one the terminal
    holds: the host settled it on these very totals (each half's result ``1``). An answer
    without totals (an older host) or with other figures does not (causes.md:
    batch.already_settled is closed "after confirming the host's totals")."""
    host = readable(host_totals)
    return host is not None and host.balanced


def after_upload(answer: Answer, *, resigns: int = 0) -> Transition:
    """Where a 0330 takes the batch upload: the next chunk, or the same one again."""
    if not isinstance(answer, Replied):
        return _unusable(answer, resigns)
    if answer.code in HOST_HAS_IT:  # 94: the host has these records already (§4)
        return Advance(SettleStep.BATCH_UPLOAD)
    return _refused(answer, "0320 upload answered", resigns)


def after_upload_end(answer: Answer, *, resigns: int = 0) -> Transition:
    if not isinstance(answer, Replied):
        return _unusable(answer, resigns)
    if answer.code == "00":
        return Advance(SettleStep.PRINT)
    return _refused(answer, "upload end answered", resigns)


def after_reversals(left: int, *, signed_on: bool, resigns: int = 0) -> Transition:
    """The reversal step after a round of 0400s left ``left`` pending (protocol §5: none may
    be pending when the 0500 leaves)."""
    if not left:
        return Advance(SettleStep.OFFLINE_UPLOAD)
    if not signed_on and resigns < MAX_RESIGNS:  # a reply asked for a fresh sign-on
        return SignOnAgain("")
    return Stop("", f"{left} reversal(s) could not be delivered")


def after_advices(left: int, *, signed_on: bool, resigns: int = 0) -> Transition:
    """The offline-upload step after offline advices and refunds were forwarded."""
    if not left:
        return Advance(SettleStep.SETTLE)
    if not signed_on and resigns < MAX_RESIGNS:
        return SignOnAgain("")
    return Stop("", "offline advices were not acknowledged")


def _refused(answer: Replied, what: str, resigns: int, *, fresh_stan: bool = False) -> Transition:
    code = answer.code
    if (answer.resign or code in RESIGN) and resigns < MAX_RESIGNS:
        return SignOnAgain(code, fresh_stan=fresh_stan)
    return Stop(code, f"{what} {code}")


def _unusable(answer: NotSent | Unanswered | BadMac, resigns: int) -> Transition:
    """No reply to act on. A reply whose MAC does not verify is treated as a 0210's is
    (docs/protocol.md): the terminal signs on again and repeats the very message, which the
    host answers with its stored reply MACed under the new key; a second one stops the
    settlement with ``A0`` (the doctor: keys.out_of_sync)."""
    match answer:
        case BadMac(error=error):
            if resigns < MAX_RESIGNS:
                return SignOnAgain("A0")
            return Stop("A0", str(error))
        case NotSent(error=error) | Unanswered(error=error):
            return Stop("", str(error), link=True, link_failure=error.kind)


def upload_record(txn: TxnRow, pan: str) -> UploadRecord:
    """One 0320 record (§4): card-org flag, STAN, PAN, amount."""
    return UploadRecord(txn.domestic, txn.stan, pan, txn.amount)

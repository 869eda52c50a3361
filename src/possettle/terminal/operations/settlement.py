"""Settlement (protocol §4) as explicit steps; each decision is a pure function.

::

    sign_on → reversal → offline_upload → settle ─balanced──────────────▶ upload_end(207)
                                             └─unbalanced─▶ batch_upload ─▶ upload_end(202)
    upload_end → print → clear → done

The journal keeps the step and the STAN of the message in flight, so a resumed settlement
repeats exactly the message it may already have sent (the host answers a repeat with its
stored reply) and never uploads or counts a record twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.iso8583.codes import HOST_HAS_IT, SIGN_ON_AGAIN
from possettle.iso8583.errors import DecodeError
from possettle.iso8583.fields import HalfTotals, SettlementTotals, SettleResult, UploadRecord
from possettle.terminal.journal.records import (
    SettlementRow,
    SettleResultKind,
    SettleStep,
    TxnKind,
    TxnRow,
)

RECORDS_PER_UPLOAD = 8  # protocol §4: at most 8 records per 0320
#: "sign on again" (§7): the host did not read the message (a 0500 or 0320 needs the MAC key)
RESIGN = SIGN_ON_AGAIN


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
class Transition:
    """Where a reply takes the settlement; ``failure`` names the response code when stuck.

    ``host_totals`` is the 0510's field 48 to journal: empty when the host sent none or none
    that reads as totals (the rest of the settlement then treats both halves as unbalanced).
    """

    step: SettleStep
    result: str = ""
    failure: str | None = None
    resign: bool = False
    host_totals: str = ""


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


def after_settle(code: str, host_totals: str, *, resign: bool) -> Transition:
    host = readable(host_totals)
    keep = host_totals if host is not None else ""
    if code == "00":
        if host is not None and host.balanced:
            return Transition(SettleStep.UPLOAD_END, SettleResultKind.BALANCED, host_totals=keep)
        # out of balance, or a verdict we cannot read: upload the batch for the host to match
        return Transition(
            SettleStep.BATCH_UPLOAD, SettleResultKind.BALANCED_AFTER_UPLOAD, host_totals=keep
        )
    if code == "94":
        # The host closed this batch already (a settlement whose end we did not record).
        return Transition(SettleStep.PRINT, SettleResultKind.ALREADY_SETTLED, host_totals=keep)
    return Transition(SettleStep.SETTLE, failure=code, resign=resign or code in RESIGN)


def confirms(host_totals: str) -> bool:
    """Whether a 94's field 48 confirms the batch the host closed is the one the terminal
    holds: the host settled it on these very totals (each half's result ``1``). An answer
    without totals (an older host) or with other figures does not (causes.md:
    batch.already_settled is closed "after confirming the host's totals")."""
    host = readable(host_totals)
    return host is not None and host.balanced


def after_upload(code: str, *, resign: bool = False) -> Transition:
    if code in HOST_HAS_IT:  # 94: the host has these records already (§4)
        return Transition(SettleStep.BATCH_UPLOAD)
    return Transition(SettleStep.BATCH_UPLOAD, failure=code, resign=resign or code in RESIGN)


def after_upload_end(code: str, *, resign: bool = False) -> Transition:
    if code == "00":
        return Transition(SettleStep.PRINT)
    return Transition(SettleStep.UPLOAD_END, failure=code, resign=resign or code in RESIGN)


def upload_record(txn: TxnRow, pan: str) -> UploadRecord:
    """One 0320 record (§4): card-org flag, STAN, PAN, amount."""
    return UploadRecord(txn.domestic, txn.stan, pan, txn.amount)

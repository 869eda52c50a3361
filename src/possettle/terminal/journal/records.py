"""The journal's rows as typed values, and the explicit states they move through.

A transaction row is written as an *intent* (state ``pending``) before its message leaves and
moves to exactly one outcome afterwards::

    pending ──reply 00──▶ approved
       │ ──reply ≠00──▶ declined
       │ ──no reply / bad MAC──▶ pending + a pending reversal ──0410──▶ reversed
       └──host unreachable, nothing sent──▶ failed (or offline_pending within limits)
    offline_pending ──0230 00──▶ approved

A settlement row records the step it has reached; resuming continues from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TxnKind(StrEnum):
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    OFFLINE_SALE = "offline_sale"

    @property
    def mti(self) -> str:
        return {"sale": "0200", "void": "0200", "refund": "0220", "offline_sale": "0220"}[self]

    @property
    def txn_type(self) -> str:
        """Field 60.1 (protocol §2)."""
        return {"sale": "22", "void": "23", "refund": "25", "offline_sale": "36"}[self]

    @property
    def reversible(self) -> bool:
        """A 0200 of unknown fate is reversed (§5); a 0220 is repeated until acknowledged."""
        return self.mti == "0200"


class TxnState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    REVERSED = "reversed"
    FAILED = "failed"
    OFFLINE_PENDING = "offline_pending"


class ReversalState(StrEnum):
    PENDING = "pending"
    DONE = "done"


class SettleStep(StrEnum):
    """The steps of protocol §4 in order; the names are the doctor's ``step`` values."""

    SIGN_ON = "sign_on"
    REVERSAL = "reversal"
    OFFLINE_UPLOAD = "offline_upload"
    SETTLE = "settle"
    BATCH_UPLOAD = "batch_upload"
    UPLOAD_END = "upload_end"
    PRINT = "print"
    CLEAR = "clear"
    DONE = "done"


class SettleResultKind(StrEnum):
    BALANCED = "balanced"
    BALANCED_AFTER_UPLOAD = "balanced_after_upload"
    ALREADY_SETTLED = "already_settled"


@dataclass(frozen=True, slots=True)
class TxnRow:
    id: int
    batch: int
    stan: int
    kind: TxnKind
    state: TxnState
    amount: int
    currency: str
    pan_masked: str
    card_org: str
    domestic: bool
    entry_mode: str
    operator: str
    local_time: str
    local_date: str
    created_at: str
    rrn: str
    auth_code: str
    response_code: str
    orig_batch: int | None
    orig_stan: int | None
    orig_date: str | None
    voided: bool
    uploaded: bool

    @property
    def counts_in_totals(self) -> bool:
        """Protocol §4: debit = approved sales and offline sales not voided; credit = refunds."""
        if self.kind is TxnKind.VOID or self.voided:
            return False
        return self.state in (TxnState.APPROVED, TxnState.OFFLINE_PENDING)


@dataclass(frozen=True, slots=True)
class ReversalRow:
    id: int
    txn_id: int
    batch: int
    stan: int
    reason: str
    state: ReversalState
    attempts: int
    created_at: str
    last_code: str


@dataclass(frozen=True, slots=True)
class SettlementRow:
    batch: int
    step: SettleStep
    stan: int | None
    terminal_totals: str
    host_totals: str
    result: str
    upload_stan: int | None
    upload_ids: str
    uploaded: int
    end_stan: int | None
    started_at: str
    finished_at: str

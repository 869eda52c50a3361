"""Plain journal rows for driving the sans-IO layer (:mod:`possettle.terminal.operations`)."""

from __future__ import annotations

from dataclasses import replace

from possettle.iso8583.fields import HalfTotals, SettlementTotals, SettleResult
from possettle.terminal.journal.records import (
    SettlementRow,
    SettleStep,
    TxnKind,
    TxnRow,
    TxnState,
)


def txn(
    id: int,
    *,
    kind: TxnKind = TxnKind.SALE,
    state: TxnState = TxnState.APPROVED,
    amount: int = 1000,
    domestic: bool = True,
    voided: bool = False,
    uploaded: bool = False,
    batch: int = 1,
) -> TxnRow:
    return TxnRow(
        id=id,
        batch=batch,
        stan=id,
        kind=kind,
        state=state,
        amount=amount,
        currency="156",
        pan_masked="622202******0001",
        card_org="CUP" if domestic else "VIS",
        domestic=domestic,
        entry_mode="012",
        operator="01",
        local_time="120000",
        local_date="0101",
        created_at="2026-01-01T12:00:00Z",
        rrn="",
        auth_code="",
        response_code="00",
        orig_batch=None,
        orig_stan=None,
        orig_date=None,
        voided=voided,
        uploaded=uploaded,
    )


def settlement(step: SettleStep, **values: object) -> SettlementRow:
    row = SettlementRow(
        batch=1,
        step=step,
        stan=None,
        terminal_totals="",
        host_totals="",
        result="",
        upload_stan=None,
        upload_ids="",
        uploaded=0,
        end_stan=None,
        started_at="2026-01-01T12:00:00Z",
        finished_at="",
    )
    return replace(row, **values)  # type: ignore[arg-type]


def host_totals(domestic: SettleResult, foreign: SettleResult) -> str:
    """A 0510's field 48 carrying only the two result digits that matter here."""
    return str(SettlementTotals(HalfTotals(result=domestic), HalfTotals(result=foreign)))


BALANCED = host_totals(SettleResult.BALANCED, SettleResult.BALANCED)
DOMESTIC_OFF = host_totals(SettleResult.UNBALANCED, SettleResult.BALANCED)
FOREIGN_OFF = host_totals(SettleResult.BALANCED, SettleResult.UNBALANCED)

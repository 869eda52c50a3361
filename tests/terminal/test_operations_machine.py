"""Hypothesis state machines over the sans-IO layer (``terminal/operations/``).

Each machine drives the pure decisions with plain values the way the shell does
(``transactions.py``, ``settlement_run.py``: intent recorded before a message leaves, outcome
after), lets Hypothesis pick the host's answers, silences, bad MACs and power cuts, and checks
what a merchant relies on after every step: a settlement is never done before every record it
had to upload was acknowledged, nothing is uploaded or counted twice, a finished settlement
stays finished, it never moves on an answer it did not get or cannot trust, and one run never
signs on again more often than its budget;
a 0200 of unknown fate always keeps its reversal (same STAN), a final transaction never moves
again, an offline sale is never declined, and totals never count a transaction that may still
be reversed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from possettle.iso8583.codec import Fields
from possettle.iso8583.fields import SettlementTotals, SettleResult
from possettle.link import requests as m
from possettle.terminal.errors import BadReplyMac, HostUnreachable, NoReply, ReplyTimeout
from possettle.terminal.journal.records import (
    SettleResultKind,
    SettleStep,
    TxnKind,
    TxnRow,
    TxnState,
)
from possettle.terminal.operations import online
from possettle.terminal.operations import settlement as plan
from possettle.terminal.operations.answer import Answer, BadMac, NotSent, Replied, Unanswered
from tests.terminal.rows import host_totals, settlement, txn

BUDGET = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

RESULTS = st.sampled_from([SettleResult.BALANCED, SettleResult.UNBALANCED])
FINAL = (TxnState.APPROVED, TxnState.DECLINED, TxnState.REVERSED, TxnState.FAILED)
# How a request fares, mostly answered: what the shell's `deliver` hands the decisions.
FARES = st.sampled_from(["reply", "reply", "reply", "silence", "dropped", "bad_mac", "not_sent"])


def answer(fare: str, fields: Fields) -> Answer:
    if fare == "silence":
        return Unanswered(ReplyTimeout("no reply within 10.0s"))
    if fare == "dropped":
        return Unanswered(NoReply("connection lost"))
    if fare == "bad_mac":
        return BadMac(BadReplyMac("reply has a bad MAC"))
    if fare == "not_sent":
        return NotSent(HostUnreachable("cannot connect"))
    return Replied(fields)


# ------------------------------------------------------------------ settlement


@st.composite
def batches(draw: st.DrawFn) -> list[TxnRow]:
    size = draw(st.integers(0, 20))
    rows = []
    for i in range(1, size + 1):
        kind = draw(st.sampled_from(list(TxnKind)))
        if kind is TxnKind.OFFLINE_SALE:
            state = draw(st.sampled_from([TxnState.OFFLINE_PENDING, TxnState.APPROVED]))
        else:
            state = draw(st.sampled_from([TxnState.APPROVED, TxnState.DECLINED, TxnState.REVERSED]))
        rows.append(
            txn(
                i,
                kind=kind,
                state=state,
                amount=draw(st.integers(1, 10**9)),
                domestic=draw(st.booleans()),
                voided=kind is TxnKind.SALE and draw(st.booleans()),
            )
        )
    return rows


class SettlementMachine(RuleBasedStateMachine):
    """One batch's settlement from the 0500 on, answered by an arbitrary host."""

    @initialize(rows=batches())
    def start(self, rows: list[TxnRow]) -> None:
        self.rows = {r.id: r for r in rows}
        self.row = settlement(SettleStep.SETTLE)
        self.acknowledged: list[int] = []  # record ids in acknowledged 0320s, in order
        self.sent_totals: SettlementTotals | None = None
        self.last_chunk: tuple[int, ...] | None = None  # the 0320 that got no valid answer
        self.reached_done = False
        self.resigns = 0  # fresh sign-ons in the current run

    # the shell's reads (settlement_run.py `_rows`, queries.upload_candidates)
    def _decision_rows(self) -> list[TxnRow]:
        row = self.row
        if row.step is SettleStep.SETTLE and not row.terminal_totals:
            return list(self.rows.values())
        if row.step is SettleStep.BATCH_UPLOAD:
            if row.upload_stan is not None:
                return [self.rows[i] for i in sorted(json.loads(row.upload_ids))]
            return self._candidates()
        return []

    def _candidates(self) -> list[TxnRow]:
        counted = [
            r
            for r in self.rows.values()
            if r.kind is not TxnKind.VOID and not r.voided and not r.uploaded
            and r.state in (TxnState.APPROVED, TxnState.OFFLINE_PENDING)
        ]  # fmt: skip
        return sorted(counted, key=lambda r: r.id)[: plan.RECORDS_PER_UPLOAD]

    def _next(self) -> plan.Action:
        return plan.next_action(self.row, self._decision_rows())

    def _set(self, **values: object) -> None:
        self.row = replace(self.row, **values)  # type: ignore[arg-type]

    def _moved(self, fare: str, move: plan.Transition) -> plan.Advance | None:
        """settlement_run.py `_drive`: the advance to carry out, or ``None`` after a sign-on or
        a stop (a stop ends the run; the next run starts with its whole sign-on budget)."""
        if fare != "reply":
            assert not isinstance(move, plan.Advance), "moved on without a reply to trust"
        if isinstance(move, plan.SignOnAgain):
            assert self.resigns < plan.MAX_RESIGNS, "signed on again past the budget"
            self.resigns += 1
            if move.fresh_stan:
                self._set(stan=None)
            return None
        if isinstance(move, plan.Stop):
            assert move.link is (fare in ("silence", "dropped", "not_sent"))
            self.resigns = 0
            return None
        return move

    @rule(
        fare=FARES,
        code=st.sampled_from(["00", "00", "94", "96", "77"]),
        dom=RESULTS,
        foreign=RESULTS,
        garbled=st.sampled_from(["", "", "", "12", "9" * 62]),
    )
    def answer_the_0500(
        self, fare: str, code: str, dom: SettleResult, foreign: SettleResult, garbled: str
    ) -> None:
        """The host's 0510; ``garbled`` (when set) replaces its field 48."""
        field48 = garbled or host_totals(dom, foreign)
        action = self._next()
        if not isinstance(action, plan.SendSettle):
            return
        if self.row.stan is None:
            self._set(stan=1, terminal_totals=str(action.totals))
            self.sent_totals = action.totals
        # a repeated 0500 carries the totals first recorded, whatever happened since
        assert action.totals == self.sent_totals
        reply = answer(fare, {"39": code, "48": field48})
        move = self._moved(fare, plan.after_settle(reply, resigns=self.resigns))
        if move is None:
            return
        self._set(step=move.step, result=move.result, host_totals=move.host_totals)

    @rule(fare=FARES, code=st.sampled_from(["00", "00", "00", "94", "96", "A0"]))
    def answer_a_0320(self, fare: str, code: str) -> None:
        action = self._next()
        if not isinstance(action, plan.SendUpload):
            return
        ids = tuple(i.id for i in action.items)
        assert 1 <= len(ids) <= plan.RECORDS_PER_UPLOAD
        assert all(self.rows[i].counts_in_totals and not self.rows[i].uploaded for i in ids)
        if self.last_chunk is not None:
            assert ids == self.last_chunk, "a chunk in flight is repeated exactly"
        if self.row.upload_stan is None:
            self._set(upload_stan=100 + len(self.acknowledged), upload_ids=json.dumps(list(ids)))
        move = self._moved(
            fare, plan.after_upload(answer(fare, {"39": code}), resigns=self.resigns)
        )
        if move is None:
            self.last_chunk = ids
            return
        assert move.step is SettleStep.BATCH_UPLOAD
        self.last_chunk = None
        self.acknowledged.extend(ids)
        for i in ids:
            self.rows[i] = replace(self.rows[i], uploaded=True)
        self._set(uploaded=self.row.uploaded + len(ids))
        following = self._candidates()
        if following:
            ids_next = [f.id for f in following]
            self._set(upload_stan=200 + len(self.acknowledged), upload_ids=json.dumps(ids_next))
        else:
            self._set(upload_stan=None, upload_ids="")

    @rule(fare=FARES, code=st.sampled_from(["00", "00", "96", "22"]))
    def answer_the_upload_end(self, fare: str, code: str) -> None:
        action = self._next()
        if not isinstance(action, plan.SendUploadEnd):
            return
        # the upload end counts exactly the records the host acknowledged
        assert action.count == len(self.acknowledged) == self.row.uploaded
        assert action.balanced is (self.row.result == SettleResultKind.BALANCED)
        if self.row.end_stan is None:
            self._set(end_stan=300, step=SettleStep.UPLOAD_END)
        reply = answer(fare, {"39": code})
        move = self._moved(fare, plan.after_upload_end(reply, resigns=self.resigns))
        if move is None:
            return
        self._set(step=move.step)

    @rule()
    def print_and_close(self) -> None:
        action = self._next()
        if isinstance(action, plan.PrintSlip):
            self._set(step=SettleStep.CLEAR)
        elif isinstance(action, plan.CloseBatch):
            self._set(step=SettleStep.DONE)
            self.reached_done = True
            self.resigns = 0

    @invariant()
    def nothing_is_uploaded_twice(self) -> None:
        assert len(self.acknowledged) == len(set(self.acknowledged))
        assert self.row.uploaded == sum(r.uploaded for r in self.rows.values())

    @invariant()
    def past_the_upload_every_record_it_needed_is_acknowledged(self) -> None:
        if self.row.step in (SettleStep.PRINT, SettleStep.CLEAR, SettleStep.DONE):
            if self.row.result == SettleResultKind.BALANCED_AFTER_UPLOAD:
                owed = {r.id for r in self.rows.values() if r.counts_in_totals}
                owed -= {r.id for r in self.rows.values() if r.kind is TxnKind.VOID}
                assert owed == set(self.acknowledged)
            elif self.row.result == SettleResultKind.BALANCED:
                assert self.acknowledged == []

    @invariant()
    def a_finished_settlement_stays_finished(self) -> None:
        if self.reached_done:
            assert self.row.step is SettleStep.DONE
            assert self._next() == plan.Finished()

    @invariant()
    def totals_are_never_negative(self) -> None:
        t = plan.totals(list(self.rows.values()))
        for half in (t.domestic, t.foreign):
            assert min(half.debit_amount, half.debit_count) >= 0
            assert min(half.credit_amount, half.credit_count) >= 0


TestSettlementMachine = SettlementMachine.TestCase
TestSettlementMachine.settings = BUDGET


# ------------------------------------------------------------------ online transactions


@dataclass
class Txn:
    id: int
    kind: TxnKind
    state: TxnState
    stan: int
    reversal: str | None = None  # reason of the pending reversal
    sent: bool = False
    voided: bool = False
    orig: int | None = None  # the sale a void cancels


REPLY_CODES = st.sampled_from(["00", "00", "51", "94", "A0", "22", "77", "96"])


class OnlineMachine(RuleBasedStateMachine):
    """A terminal's transactions: intents, the host's answers or silence, reversals, advices."""

    txns = Bundle("txns")

    def __init__(self) -> None:
        super().__init__()
        self.journal: dict[int, Txn] = {}
        self.history: dict[int, list[TxnState]] = {}
        self.next_stan = 1

    def _intent(self, kind: TxnKind, state: TxnState, orig: int | None = None) -> Txn:
        """transactions.py `_new`: STAN, row and (for a 0200) its pending reversal at once."""
        t = Txn(len(self.journal) + 1, kind, state, self.next_stan, orig=orig)
        self.next_stan += 1
        if kind.reversible and state is TxnState.PENDING:
            t.reversal = online.REVERSAL_NO_REPLY
        self.journal[t.id] = t
        self.history[t.id] = [state]
        return t

    def _apply(self, t: Txn, outcome: online.Outcome) -> None:
        """transactions.py `_apply`."""
        assert t.state not in FINAL, f"{t.kind} {t.state} was sent again"
        t.state, t.sent = outcome.state, True
        t.reversal = outcome.reversal
        if t.kind is TxnKind.VOID and outcome.approved and t.orig is not None:
            self.journal[t.orig].voided = True
        self.history[t.id].append(outcome.state)

    def _event(self, t: Txn, fare: str, code: str) -> online.Outcome:
        """transactions.py `_send`: the answer as `deliver` hands it over."""
        return online.outcome(t.kind, answer(fare, {"39": code}))

    @rule(target=txns, kind=st.sampled_from([TxnKind.SALE, TxnKind.REFUND]),
          fare=FARES, code=REPLY_CODES)  # fmt: skip
    def a_sale_or_refund_goes_out(self, kind: TxnKind, fare: str, code: str) -> Txn:
        t = self._intent(kind, TxnState.PENDING)
        self._apply(t, self._event(t, fare, code))
        return t

    @rule(target=txns)
    def an_offline_sale_is_taken(self) -> Txn:
        return self._intent(TxnKind.OFFLINE_SALE, TxnState.OFFLINE_PENDING)

    @rule(target=txns, sale=txns, fare=FARES, code=REPLY_CODES)
    def a_sale_is_voided(self, sale: Txn, fare: str, code: str) -> Txn:
        if sale.kind is not TxnKind.SALE or sale.state is not TxnState.APPROVED or sale.voided:
            return sale  # refused locally (transactions.py `void`): nothing is sent
        t = self._intent(TxnKind.VOID, TxnState.PENDING, orig=sale.id)
        self._apply(t, self._event(t, fare, code))
        return t

    @rule(t=txns, fare=FARES, code=REPLY_CODES)
    def an_advice_or_refund_is_repeated(self, t: Txn, fare: str, code: str) -> None:
        """transactions.py `forward_advices`: only 0220s still waiting are sent again."""
        if t.kind.reversible or t.state not in (TxnState.PENDING, TxnState.OFFLINE_PENDING):
            return
        self._apply(t, self._event(t, fare, code))

    @precondition(lambda self: any(t.reversal for t in self.journal.values()))
    @rule(
        data=st.data(),
        fare=st.sampled_from(["reply", "reply", "silence", "dropped", "bad_mac"]),
        code=st.sampled_from(["00", "25", "A0", "96"]),
    )
    def a_reversal_is_sent(self, data: st.DataObject, fare: str, code: str) -> None:
        """transactions.py `send_reversals`: the 0400 is the original request, same STAN."""
        t = data.draw(st.sampled_from([t for t in self.journal.values() if t.reversal]))
        assert t.reversal is not None
        original = m.sale("12345678", "123456789012345", t.stan, 1, pan="6222021234567890128",
                          amount=1000)  # fmt: skip
        fields = m.reversal(original, t.reversal)
        assert (fields["t"], fields["11"], fields["39"]) == ("0400", f"{t.stan:06d}", t.reversal)
        reply = answer(fare, {"39": code})
        assert not isinstance(reply, NotSent)  # unreachable: send_reversals raises, sends none
        if online.reversal_finished(online.reversal_code(reply)):
            assert fare == "reply", "a reversal ended without a reply to trust"
            t.state, t.reversal = TxnState.REVERSED, None
            self.history[t.id].append(TxnState.REVERSED)

    @invariant()
    def a_0200_of_unknown_fate_keeps_its_reversal(self) -> None:
        for t in self.journal.values():
            if t.kind.reversible and t.state is TxnState.PENDING:
                assert t.reversal in (online.REVERSAL_NO_REPLY, online.REVERSAL_BAD_MAC)
            if t.state is not TxnState.PENDING:
                assert t.reversal is None

    @invariant()
    def a_0220_is_never_reversed(self) -> None:
        for t in self.journal.values():
            if not t.kind.reversible:
                assert t.reversal is None and TxnState.REVERSED not in self.history[t.id]

    @invariant()
    def an_offline_sale_is_never_declined_or_failed(self) -> None:
        for t in self.journal.values():
            if t.kind is TxnKind.OFFLINE_SALE:
                assert set(self.history[t.id]) <= {TxnState.OFFLINE_PENDING, TxnState.APPROVED}

    @invariant()
    def a_final_state_never_changes(self) -> None:
        for states in self.history.values():
            finals = [i for i, s in enumerate(states) if s in FINAL]
            if finals:
                assert finals[0] == len(states) - 1, states

    @invariant()
    def the_totals_never_count_what_may_still_be_reversed(self) -> None:
        rows = [
            txn(t.id, kind=t.kind, state=t.state, amount=1000, voided=t.voided)
            for t in self.journal.values()
        ]
        counted = {r.id for r in rows if r.counts_in_totals}
        assert not counted & {t.id for t in self.journal.values() if t.reversal}
        assert not counted & {t.id for t in self.journal.values() if t.kind is TxnKind.VOID}
        totals = plan.totals(rows)
        for half in (totals.domestic, totals.foreign):
            assert min(half.debit_amount, half.debit_count, half.credit_amount) >= 0
        assert totals.domestic.debit_count + totals.domestic.credit_count == len(counted)


TestOnlineMachine = OnlineMachine.TestCase
TestOnlineMachine.settings = BUDGET

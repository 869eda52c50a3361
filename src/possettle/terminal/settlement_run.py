"""Run a settlement (protocol §4) to the end, or resume it from the step it reached.

The decisions are :mod:`.operations.settlement`'s: each answer becomes a transition
(advance, sign on again, stop) that this module carries out. It journals each intent before
its message leaves (the STAN of the 0500, of each 0320 chunk with its record ids, of the
upload end) and each outcome after, so a power cut anywhere resumes without counting or
uploading anything twice.

A stop is a value, not an exception; the only exceptions caught here are faults from the
terminal (a sign-on refused, the host unreachable), recorded as the report's failure.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from possettle.iso8583.codec import Fields
from possettle.iso8583.fields import SettlementTotals
from possettle.link import requests as m
from possettle.terminal.errors import HostRefused, LinkDown
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import SettleFailed, SettleUnconfirmed
from possettle.terminal.journal.records import SettlementRow, SettleStep, TxnRow
from possettle.terminal.operations import settlement as plan
from possettle.terminal.operations.answer import Answer, BadMac, Replied
from possettle.terminal.printing import Printing
from possettle.terminal.shell import Terminal
from possettle.terminal.transactions import Payments

ADOPTED_NOTE = (
    "batch {mine} was empty and the host never opened it: took the host's batch {host} at "
    "sign-on and went on with that one / 批次 {mine} 为空且主机未开启：签到时已采用主机批次 {host} "
    "并改为结算该批次"
)
UNCONFIRMED_NOTE = (
    "the host had already closed this batch and did not confirm these totals: confirm them "
    "with the acquirer / 主机已结算该批次但未确认本机金额，请与收单机构核对"
)


@dataclass
class SettleReport:
    batch: int
    step: SettleStep
    result: str = ""
    terminal_totals: str = ""
    host_totals: str = ""
    uploaded: int = 0
    printed: bool = False
    resumed: bool = False
    failure: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.step is SettleStep.DONE

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "ok": self.ok,
            "step": self.step.value,
            "result": self.result,
            "terminal_totals": self.terminal_totals,
            "host_totals": self.host_totals,
            "uploaded": self.uploaded,
            "printed": self.printed,
            "resumed": self.resumed,
            "failure": self.failure,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class Adopted:
    """A sign-on dropped this settlement of an empty batch the host never opened and took the
    host's batch number (shell ``_may_adopt``): settle that one instead."""


#: How a run of the steps ends: the batch settled (``None``), stopped at a step, or adopted.
Ending = plan.Stop | Adopted | None


class Settlement:
    def __init__(self, terminal: Terminal, printing: Printing, operator: str = "01") -> None:
        self.t = terminal
        self.pay = Payments(terminal)
        self.printing = printing
        self.operator = operator
        self._resigns = 0
        self._adopted = False

    def _row(self, batch: int) -> SettlementRow:
        row = q.get_settlement(self.t.journal.conn, batch)
        assert row is not None
        return row

    async def run(self) -> SettleReport:
        """Settle the open batch, or finish the interrupted settlement first."""
        t = self.t
        unfinished = q.unfinished_settlement(t.journal.conn)
        if unfinished is not None:
            batch, resumed = unfinished.batch, True
        else:
            batch, resumed = t.batch, False
            with t.journal.write("settle_begin") as conn:
                q.begin_settlement(conn, batch, t.journal.now())
        report = SettleReport(batch, self._row(batch).step, resumed=resumed)
        try:
            ending = await self._drive(batch, report)
        except LinkDown as exc:  # a sign-on or a round of reversals could not reach the host
            ending = plan.Stop("", str(exc), link=True, link_failure=exc.kind)
        except HostRefused as exc:  # a sign-on refused, or its keys failed their check
            ending = plan.Stop(exc.code, str(exc))
        match ending:
            case Adopted():
                if self._adopted:  # the batch number moved twice in one settlement: stop
                    moved = plan.Stop("77", "the host's batch changed again")
                    report.failure = _failure("settle", moved)
                    return report
                self._adopted = True
                again = await self.run()
                again.notes.insert(0, ADOPTED_NOTE.format(mine=batch, host=again.batch))
                return again
            case plan.Stop():
                self._fail(report, ending)
        row = self._row(batch)
        report.step, report.result = row.step, row.result
        report.terminal_totals, report.host_totals = row.terminal_totals, row.host_totals
        report.uploaded = row.uploaded
        return report

    def _fail(self, report: SettleReport, stop: plan.Stop) -> None:
        step = self._row(report.batch).step.value
        report.failure = _failure(step, stop)
        self.t.journal.event(
            SettleFailed(
                batch=report.batch,
                step=step,
                code=stop.code,
                message=stop.message,
                link=stop.link,
                link_failure=stop.link_failure,
            )
        )

    async def _drive(self, batch: int, report: SettleReport) -> Ending:
        t = self.t
        while True:
            row = q.get_settlement(t.journal.conn, batch)
            if row is None:
                return Adopted()
            step = row.step
            if step is SettleStep.DONE:
                return None
            if step is SettleStep.SIGN_ON:
                if not t.signed_on:
                    await t.sign_on(self.operator)
                move: plan.Transition | None = plan.Advance(SettleStep.REVERSAL)
            elif step is SettleStep.REVERSAL:
                if not t.signed_on:  # resumed, or the host asked for a fresh sign-on
                    await t.sign_on(self.operator)
                left = await self.pay.send_reversals()
                move = plan.after_reversals(left, signed_on=t.signed_on, resigns=self._resigns)
            elif step is SettleStep.OFFLINE_UPLOAD:
                if not t.signed_on:
                    await t.sign_on(self.operator)
                left = await self.pay.forward_advices()
                move = plan.after_advices(left, signed_on=t.signed_on, resigns=self._resigns)
            else:
                move = await self._act(row, plan.next_action(row, self._rows(row)), report)
            match move:
                case plan.Stop():
                    return move
                case plan.SignOnAgain(fresh_stan=fresh_stan):
                    if fresh_stan:
                        self._set(batch, "settle_reply", stan=None)
                    self._resigns += 1
                    await t.sign_on(self.operator)
                case plan.Advance(step=next_step):
                    self._set(batch, "settle_begin", step=next_step)

    def _rows(self, row: SettlementRow) -> list[TxnRow]:
        """The rows the next decision needs: the batch for the 0500, the next chunk after."""
        conn = self.t.journal.conn
        if row.step is SettleStep.SETTLE and not row.terminal_totals:
            return q.batch_txns(conn, row.batch)
        if row.step is SettleStep.BATCH_UPLOAD:
            if row.upload_stan is not None:  # the chunk in flight, exactly as recorded
                return q.txns_by_ids(conn, json.loads(row.upload_ids))
            return q.upload_candidates(conn, row.batch, plan.RECORDS_PER_UPLOAD)
        return []

    @staticmethod
    def _chunk_intent(conn: sqlite3.Connection, batch: int, ids: list[int]) -> int:
        """Record the STAN and the records of the next 0320 before it leaves."""
        stan = q.next_stan(conn)
        q.update_settlement(conn, batch, upload_stan=stan, upload_ids=json.dumps(ids))
        return stan

    def _set(self, batch: int, write: str, **values: Any) -> None:
        with self.t.journal.write(write) as conn:
            q.update_settlement(conn, batch, **values)

    async def _deliver(self, kind: str, fields: Fields) -> Answer:
        """One settlement message. 0510 and 0330 approvals are MACed as a 0210 is, and one
        whose MAC does not verify is not acted on (docs/protocol.md): the connection is
        dropped and the terminal is marked for a fresh sign-on before the plan decides."""
        t = self.t
        answer = await t.deliver(kind, fields)
        if isinstance(answer, BadMac):
            await t.drop_link()
            with t.journal.write("meta") as conn:
                t.journal.set_meta(conn, "needs_signon", "1")
        return answer

    async def _act(
        self, row: SettlementRow, action: plan.Action, report: SettleReport
    ) -> plan.SignOnAgain | plan.Stop | None:
        """Send the planned message and journal where its answer leads; ``None`` once done.

        An answer that moves the settlement on is journaled here with what it carries; one
        that does not is returned for :meth:`_drive` (sign on again, or stop at this step).
        """
        t, c, batch = self.t, self.t.config, row.batch
        if isinstance(action, plan.SendSettle):
            stan = row.stan
            if stan is None:
                with t.journal.write("settle_intent") as conn:
                    stan = q.next_stan(conn)
                    q.update_settlement(conn, batch, stan=stan, terminal_totals=str(action.totals))
            fields = m.settlement(c.tid, c.mid, stan, batch, action.totals, self.operator)
            answer = await self._deliver("settlement", fields)
            move = plan.after_settle(answer, resigns=self._resigns)
            if not isinstance(move, plan.Advance):
                return move
            with t.journal.write("settle_reply") as conn:
                q.update_settlement(
                    conn, batch, step=move.step, result=move.result, host_totals=move.host_totals
                )
                if move.unconfirmed:
                    # closed on the host's word, which did not confirm our totals: a case for
                    # the acquirer (the doctor names it), not a reason to keep a dead batch
                    host = answer.reply.get("48", "") if isinstance(answer, Replied) else ""
                    detail = SettleUnconfirmed(
                        batch=batch, terminal_totals=str(action.totals), host_totals=host
                    )
                    t.journal.add_event(conn, detail)
            if move.unconfirmed:
                report.notes.append(UNCONFIRMED_NOTE)
        elif isinstance(action, plan.SendUpload):
            ids = [i.id for i in action.items]
            stan = row.upload_stan
            if stan is None:
                with t.journal.write("upload_intent") as conn:
                    stan = self._chunk_intent(conn, batch, ids)
            pans = q.open_pans(t.journal.conn, t.journal.vault, list(action.items))
            records = [plan.upload_record(i, pans[i.id]) for i in action.items]
            fields = m.batch_upload(c.tid, c.mid, stan, batch, records)
            move = plan.after_upload(
                await self._deliver("batch_upload", fields), resigns=self._resigns
            )
            if not isinstance(move, plan.Advance):
                return move  # a repeat sends the same chunk: same STAN, same records
            # One commit marks this chunk uploaded and records the next chunk's intent.
            with t.journal.write("upload_marked") as conn:
                q.mark_uploaded(conn, ids)
                q.update_settlement(conn, batch, uploaded=row.uploaded + len(ids))
                following = q.upload_candidates(conn, batch, plan.RECORDS_PER_UPLOAD)
                if following:
                    self._chunk_intent(conn, batch, [f.id for f in following])
                else:
                    q.update_settlement(conn, batch, upload_stan=None, upload_ids="")
        elif isinstance(action, plan.SendUploadEnd):
            stan = row.end_stan
            if stan is None:
                with t.journal.write("upload_end_intent") as conn:
                    stan = q.next_stan(conn)
                    q.update_settlement(conn, batch, end_stan=stan, step=SettleStep.UPLOAD_END)
            fields = m.upload_end(c.tid, c.mid, stan, batch, action.count, balanced=action.balanced)
            move = plan.after_upload_end(
                await self._deliver("upload_end", fields), resigns=self._resigns
            )
            if not isinstance(move, plan.Advance):
                return move  # a repeat sends the same upload end
            self._set(batch, "upload_end_reply", step=move.step)
        elif isinstance(action, plan.PrintSlip):
            with t.journal.write("slip_queued") as conn:
                mine = plan.totals(q.batch_txns(conn, batch))
                self.printing.queue_slip(conn, row, self.operator, mine)
                q.update_settlement(conn, batch, step=SettleStep.CLEAR)
        elif isinstance(action, plan.CloseBatch):
            with t.journal.write("batch_closed") as conn:
                if q.current_batch(conn) == batch:
                    q.set_batch(conn, batch % 999999 + 1)
                q.update_settlement(conn, batch, step=SettleStep.DONE, finished_at=t.journal.now())
            report.printed = self.printing.flush() == 0
            if not report.printed:
                report.notes.append("slip queued: printer not ready; run `terminal reprint`")
        return None


def _failure(step: str, stop: plan.Stop) -> dict[str, Any]:
    """A stop as the report and the ``settle_failed`` event carry it."""
    return {
        "step": step,
        "code": stop.code,
        "message": stop.message,
        "link": stop.link,
        "link_failure": stop.link_failure,
    }


def host_totals(row: SettlementRow) -> SettlementTotals | None:
    return SettlementTotals.parse(row.host_totals) if row.host_totals else None

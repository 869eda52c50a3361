"""Run a settlement (protocol §4) to the end, or resume it from the step it reached.

The decisions are :mod:`.operations.settlement`'s; this module journals each intent before
its message leaves (the STAN of the 0500, of each 0320 chunk with its record ids, of the
upload end) and each outcome after, so a power cut anywhere resumes without counting or
uploading anything twice.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from possettle.iso8583.codec import Fields
from possettle.iso8583.fields import SettlementTotals
from possettle.link import requests as m
from possettle.link.client import Exchange, LinkError, LinkUnreachable, ReplyMacError
from possettle.terminal.errors import HostRefused, LinkDown
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.records import SettlementRow, SettleStep, TxnRow
from possettle.terminal.operations import settlement as plan
from possettle.terminal.printing import Printing
from possettle.terminal.shell import Terminal
from possettle.terminal.transactions import Payments

# A 77/22/A0 answer (or an approval whose MAC does not verify) means "sign on again"; one
# fresh sign-on per run is enough to tell a stale session from a real mismatch.
MAX_RESIGNS = 1


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


class SettlementFailed(LinkDown):
    """Raised internally to stop at a step; the report carries the details."""


class BatchAdopted(Exception):
    """Raised internally: a sign-on dropped this settlement of an empty batch the host never
    opened and took the host's batch number (shell ``_may_adopt``); settle that one instead."""


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
            await self._drive(batch, report)
        except BatchAdopted:
            if self._adopted:  # the batch number moved twice in one settlement: stop
                message = "the host's batch changed again"
                report.failure = {"step": "settle", "code": "77", "message": message, "link": False}
                return report
            self._adopted = True
            again = await self.run()
            again.notes.insert(0, ADOPTED_NOTE.format(mine=batch, host=again.batch))
            return again
        except SettlementFailed:
            pass
        except (LinkError, LinkDown) as exc:
            self._fail(report, "", str(exc), link=True)
        except HostRefused as exc:
            self._fail(report, exc.code, str(exc))
        row = self._row(batch)
        report.step, report.result = row.step, row.result
        report.terminal_totals, report.host_totals = row.terminal_totals, row.host_totals
        report.uploaded = row.uploaded
        return report

    def _fail(self, report: SettleReport, code: str, message: str, *, link: bool = False) -> None:
        step = self._row(report.batch).step
        report.failure = {"step": step.value, "code": code, "message": message, "link": link}
        self.t.journal.event("settle_failed", code, {"batch": report.batch, **report.failure})

    def _stop(self, report: SettleReport, code: str, message: str) -> None:
        self._fail(report, code, message)
        raise SettlementFailed(message)

    async def _drive(self, batch: int, report: SettleReport) -> None:
        t = self.t
        while True:
            found = q.get_settlement(t.journal.conn, batch)
            if found is None:
                raise BatchAdopted(batch)
            row = found
            step = row.step
            if step is SettleStep.SIGN_ON:
                if not t.signed_on:
                    await t.sign_on(self.operator)
                self._set(batch, "settle_begin", step=SettleStep.REVERSAL)
            elif step is SettleStep.REVERSAL:
                if not t.signed_on:  # resumed, or the host asked for a fresh sign-on
                    await t.sign_on(self.operator)
                try:
                    left = await self.pay.send_reversals()
                except LinkUnreachable as exc:
                    raise LinkDown(str(exc)) from exc
                if left:
                    if self._resign_again():
                        continue
                    self._stop(report, "", f"{left} reversal(s) could not be delivered")
                self._set(batch, "settle_begin", step=SettleStep.OFFLINE_UPLOAD)
            elif step is SettleStep.OFFLINE_UPLOAD:
                if not t.signed_on:
                    await t.sign_on(self.operator)
                if await self.pay.forward_advices():
                    if self._resign_again():
                        continue
                    self._stop(report, "", "offline advices were not acknowledged")
                self._set(batch, "settle_begin", step=SettleStep.SETTLE)
            elif step is SettleStep.DONE:
                return
            else:
                await self._act(row, plan.next_action(row, self._rows(row)), report)

    def _resign_again(self) -> bool:
        """Whether to repeat a step after the host asked for a fresh sign-on (A0, 22, 77)."""
        if self.t.signed_on or self._resigns >= MAX_RESIGNS:
            return False
        self._resigns += 1
        return True

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

    async def _sign_on_again(self) -> None:
        self._resigns += 1
        await self.t.sign_on(self.operator)

    async def _exchange(self, kind: str, fields: Fields, report: SettleReport) -> Exchange | None:
        """One settlement message; ``None`` when its approval is not to be trusted.

        0510 and 0330 approvals are MACed as a 0210 is, and treated alike: one whose MAC does
        not verify is not acted on (docs/protocol.md). The terminal drops the connection and
        signs on again; the caller then repeats the very message (its STAN is journaled), and
        the host answers the repeat with its stored reply, MACed with the new key. A second
        one in this run stops the settlement with ``A0`` (the doctor: keys.out_of_sync).
        """
        t = self.t
        try:
            return await t.exchange(kind, fields)
        except ReplyMacError as exc:
            await t.drop_link()
            with t.journal.write("meta") as conn:
                t.journal.set_meta(conn, "needs_signon", "1")
            if self._resigns >= MAX_RESIGNS:
                self._stop(report, "A0", str(exc))
            await self._sign_on_again()
            return None

    async def _act(self, row: SettlementRow, action: plan.Action, report: SettleReport) -> None:
        t, c, batch = self.t, self.t.config, row.batch
        if isinstance(action, plan.SendSettle):
            stan = row.stan
            if stan is None:
                with t.journal.write("settle_intent") as conn:
                    stan = q.next_stan(conn)
                    q.update_settlement(conn, batch, stan=stan, terminal_totals=str(action.totals))
            fields = m.settlement(c.tid, c.mid, stan, batch, action.totals, self.operator)
            ex = await self._exchange("settlement", fields, report)
            if ex is None:
                return  # signed on again: the same 0500 (same STAN) goes again
            host = ex.reply.get("48", "")
            move = plan.after_settle(ex.code, host, resign=ex.header.requirement == 3)
            if move.failure is not None:
                if move.resign and self._resigns < MAX_RESIGNS:
                    self._set(batch, "settle_reply", stan=None)  # a fresh 0500 after sign-on
                    await self._sign_on_again()
                    return
                self._stop(report, move.failure, f"0500 answered {move.failure}")
            unconfirmed = ex.code == "94" and not plan.confirms(host)
            with t.journal.write("settle_reply") as conn:
                q.update_settlement(
                    conn, batch, step=move.step, result=move.result, host_totals=move.host_totals
                )
                if unconfirmed:
                    # closed on the host's word, which did not confirm our totals: a case for
                    # the acquirer (the doctor names it), not a reason to keep a dead batch
                    detail = {"batch": batch, "terminal_totals": str(action.totals),
                              "host_totals": host}  # fmt: skip
                    t.journal.add_event(conn, "settle_unconfirmed", "94", detail)
            if unconfirmed:
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
            ex = await self._exchange("batch_upload", fields, report)
            if ex is None:
                return  # signed on again: the same chunk (same STAN, same records) goes again
            move = plan.after_upload(ex.code, resign=ex.header.requirement == 3)
            if move.failure is not None:
                if move.resign and self._resigns < MAX_RESIGNS:
                    await self._sign_on_again()  # refused unread: the same chunk goes again
                    return
                self._stop(report, move.failure, f"0320 upload answered {move.failure}")
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
            ex = await self._exchange("upload_end", fields, report)
            if ex is None:
                return  # signed on again: the same upload end goes again
            move = plan.after_upload_end(ex.code, resign=ex.header.requirement == 3)
            if move.failure is not None:
                if move.resign and self._resigns < MAX_RESIGNS:
                    await self._sign_on_again()  # refused unread: the same end goes again
                    return
                self._stop(report, move.failure, f"upload end answered {move.failure}")
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


def host_totals(row: SettlementRow) -> SettlementTotals | None:
    return SettlementTotals.parse(row.host_totals) if row.host_totals else None

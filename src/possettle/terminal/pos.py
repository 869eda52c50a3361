"""The terminal as a library: rules and operators in front of the operations.

>>> # async with Pos.session(Path("term1")) as pos:
>>> #     result = await pos.sale("6222021234567890128", 1234, expiry="3012", pin="123456")
>>> #     report = await pos.settle()

:meth:`Pos.session` is how the CLI, an emulator or any library user runs a terminal: it closes
the terminal cleanly, and journals an unexpected exception as a software crash (raised again as
:class:`~possettle.terminal.errors.SoftwareCrash`) so that it never reads as a power cut.

Every local refusal (operator, permission, limit, hours, input, order) is journaled with its
code and both messages before it is raised, so the doctor can read it later. After a restart
the next online command first finishes what was interrupted: reversals, advices and an
unfinished settlement.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from possettle.clock import Clock
from possettle.errors import PossettleError
from possettle.terminal import reprint as reprints
from possettle.terminal import validation as v
from possettle.terminal.config import TerminalConfig
from possettle.terminal.crashpoints import CrashPoints
from possettle.terminal.enquiry import BalanceResult, balance_enquiry
from possettle.terminal.errors import HostUnreachable, Refused, SoftwareCrash
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import Refusal, SoftwareCrashed
from possettle.terminal.journal.records import TxnKind, TxnState
from possettle.terminal.journal.store import translate
from possettle.terminal.operators import OPERATOR_SCHEMA, Operator, OperatorStore, Role
from possettle.terminal.policy import (
    Operation,
    TerminalPolicy,
    check_amount,
    check_business_hours,
    check_offline_allowed,
    check_permission,
    check_settlement_window,
)
from possettle.terminal.printer.deferred import DeferredPrinter
from possettle.terminal.printing import Printing
from possettle.terminal.reader import REFUSALS as READER_REFUSALS
from possettle.terminal.reader import CardReader, open_reader
from possettle.terminal.settlement_run import Settlement, SettleReport
from possettle.terminal.shell import SignOn, Terminal
from possettle.terminal.transactions import Payments, TxnResult

if TYPE_CHECKING:
    from possettle.terminal.printer.device import Printer

T = TypeVar("T")
# With no operators registered a terminal runs as this built-in supervisor (single-user shop).
DEFAULT_OPERATOR = Operator(id="01", name="default", role=Role.SUPERVISOR)


class Pos:
    def __init__(
        self,
        terminal: Terminal,
        printer: Printer,
        policy: TerminalPolicy,
        reader: CardReader | None = None,
    ) -> None:
        self.terminal = terminal
        self.reader = reader or open_reader(terminal.directory)
        self.journal = terminal.journal
        self.policy = policy
        self.payments = Payments(terminal)
        c = terminal.config
        self.printing = Printing(
            terminal.journal,
            printer,
            merchant_name=c.merchant_name,
            mid=c.mid,
            tid=c.tid,
            tz=policy.tz(),
        )
        self.operators = OperatorStore(terminal.journal.conn, terminal.clock)

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        clock: Clock | None = None,
        crash: CrashPoints | None = None,
        printer: Printer | None = None,
    ) -> Pos:
        terminal = Terminal.open(
            directory, clock=clock, crash=crash, extra_schema=(OPERATOR_SCHEMA,)
        )
        try:
            policy = TerminalPolicy.from_dict(terminal.config.policy)
            device = printer or DeferredPrinter(terminal.config.printer, directory)
        except BaseException:
            terminal.journal.close()
            raise
        return cls(terminal, device, policy)

    @classmethod
    @contextlib.asynccontextmanager
    async def session(
        cls,
        directory: Path,
        *,
        clock: Clock | None = None,
        crash: CrashPoints | None = None,
        printer: Printer | None = None,
    ) -> AsyncIterator[Pos]:
        """The terminal open for one piece of work, closed cleanly after it.

        A possettle error closes it as usual and passes through. Anything else is our bug: it
        is journaled as ``software_crash`` (type and crash point only), the journal's open
        marker is left set as a crash would leave it — the next start resumes the interrupted
        work — and :class:`SoftwareCrash` is raised from it.
        """
        pos = cls.open(directory, clock=clock, crash=crash, printer=printer)
        try:
            yield pos
        except PossettleError:
            await pos.close()
            raise
        except sqlite3.DatabaseError as exc:
            # A read met a damaged page (writes are translated in the journal): the journal's
            # fault, not our bug; it names the rescue (docs/terminal.md).
            await pos.close()
            raise translate(exc, "reading it") from exc
        except Exception as exc:
            kind, point = type(exc).__name__, str(getattr(exc, "point", ""))
            pos.journal.event(SoftwareCrashed(type=kind, point=point))
            pos.journal.abandon()
            await pos.terminal.drop_link()
            raise SoftwareCrash(kind, point) from exc
        await pos.close()

    @property
    def config(self) -> TerminalConfig:
        return self.terminal.config

    async def close(self) -> None:
        await self.terminal.close()

    # -------------------------------------------------------------------- guards

    def _refused(self, exc: Refused, operation: Operation) -> Refused:
        detail = Refusal.model_validate(
            {
                **exc.details,
                "code": exc.code,
                "operation": operation.value,
                "en": exc.en,
                "zh": exc.zh,
            }
        )
        with self.journal.write("refused") as conn:
            self.journal.add_event(conn, detail)
        return exc

    def login(self, operator_id: str | None, password: str | None) -> Operator:
        """The operator for this command (journaled lock-outs and failures)."""
        if not self.operators.list():
            return DEFAULT_OPERATOR
        if operator_id is None or password is None:
            raise self._refused(
                Refused(
                    "operator.required",
                    "Log in with an operator code and password.",
                    "请输入操作员号和密码登录。",
                ),
                Operation.SIGN_ON,
            )
        failure: Refused | None = None
        with self.journal.write("operator"):
            try:
                op = self.operators.login(operator_id, password)
            except Refused as exc:
                failure = exc
        if failure is not None:
            raise self._refused(failure, Operation.SIGN_ON)
        return op

    def _check(self, op: Operator, operation: Operation, amount: int | None = None) -> None:
        try:
            check_permission(self.policy, op, operation)
            if amount is not None:
                check_amount(self.policy, op, operation, amount)
            if operation is Operation.SETTLE:
                check_settlement_window(self.policy, self.terminal.clock.now())
            elif operation is not Operation.REPRINT:
                # Paper moves no money: a slip settled after closing time reprints then too.
                check_business_hours(self.policy, self.terminal.clock.now())
        except Refused as exc:
            raise self._refused(exc, operation) from None

    async def _online(self, work: Callable[[], Awaitable[T]], operation: Operation) -> T:
        """Finish interrupted work first (settlement included), then run ``work``; no echo or
        status report comes between their messages."""
        with self.terminal.working():
            return await self._online_work(work, operation)

    async def _online_work(self, work: Callable[[], Awaitable[T]], operation: Operation) -> T:
        if q.unfinished_settlement(self.journal.conn) is not None:
            report = await Settlement(self.terminal, self.printing).run()
            if not report.ok:
                raise self._refused(
                    Refused(
                        "order.settlement_unfinished",
                        f"Batch {report.batch:06d} is being settled; finish the settlement "
                        "(`possettle terminal settle`) before new transactions.",
                        f"批次 {report.batch:06d} 正在结算，请先完成结算再做新交易。",
                        batch=report.batch,
                    ),
                    operation,
                )
        try:
            return await work()
        except Refused as exc:  # the operations' own refusals (an unknown original, ...)
            raise self._refused(exc, operation) from None

    def _receipt(self, result: TxnResult) -> None:
        if not result.approved:
            return
        row = q.find_txn(self.journal.conn, result.batch, result.stan)
        if row is None:
            return
        with self.journal.write("receipt_queued") as conn:
            self.printing.queue_receipt(conn, row)
        self.printing.flush()

    # ---------------------------------------------------------------- operations

    async def sign_on(self, op: Operator = DEFAULT_OPERATOR) -> SignOn:
        self._check(op, Operation.SIGN_ON)
        with self.terminal.working():
            result = await self.terminal.sign_on(op.id)
            await self.payments.send_reversals()
        return result

    async def sale(
        self,
        pan: str,
        amount: int,
        *,
        expiry: str,
        pin: str | None = None,
        op: Operator = DEFAULT_OPERATOR,
        allow_offline: bool = True,
    ) -> TxnResult:
        # Every input is checked before anything is journaled or sent: a PIN of the wrong
        # shape must not cost a voucher number, nor leave a reversal for the host to refuse.
        try:
            v.check_pan(pan)
            v.check_expiry(expiry, self.terminal.clock.now())
            if pin is not None:
                v.check_pin(pin)
        except Refused as exc:
            raise self._refused(exc, Operation.SALE) from None
        self._check(op, Operation.SALE, amount)
        # The card is read before anything is journaled or sent: a reader that is not ready
        # takes no payment, and the refusal is journaled with the reader's code (the doctor's
        # reader.fault).
        reader = self.reader.status()
        if reader is not None:
            en, zh = READER_REFUSALS[reader]
            not_ready = Refused(f"reader.{reader.value}", en, zh, reader=reader.value)
            raise self._refused(not_ready, Operation.SALE)
        refusal = self._offline_refusal(op, amount) if allow_offline else None
        try:
            result = await self._online(
                lambda: self.payments.sale(
                    pan, amount, pin=pin, operator=op.id, allow_offline=refusal is None
                ),
                Operation.SALE,
            )
        except HostUnreachable as exc:
            if refusal is None:
                raise
            raise self._refused(refusal, Operation.OFFLINE_SALE) from exc
        if result.state is TxnState.FAILED and refusal is not None:
            raise self._refused(refusal, Operation.OFFLINE_SALE)
        self._receipt(result)
        return result

    async def balance(
        self, pan: str, *, expiry: str, pin: str | None = None, op: Operator = DEFAULT_OPERATOR
    ) -> BalanceResult:
        """Balance enquiry (余额查询): the card's balance from its issuer, nothing journaled as
        a transaction and no receipt (terminal/enquiry.py)."""
        try:
            v.check_pan(pan)
            v.check_expiry(expiry, self.terminal.clock.now())
        except Refused as exc:
            raise self._refused(exc, Operation.BALANCE) from None
        self._check(op, Operation.BALANCE)
        reader = self.reader.status()
        if reader is not None:
            en, zh = READER_REFUSALS[reader]
            not_ready = Refused(f"reader.{reader.value}", en, zh, reader=reader.value)
            raise self._refused(not_ready, Operation.BALANCE)
        return await self._online(
            lambda: balance_enquiry(self.terminal, self.payments, pan, expiry=expiry, pin=pin),
            Operation.BALANCE,
        )

    def _offline_refusal(self, op: Operator, amount: int) -> Refused | None:
        """Why this sale could not be approved offline, should the host be unreachable.

        Asked before the sale goes online; raised (journaled) only if the host then cannot be
        reached, so the merchant is told the limit that stopped it, not just "no offline".
        """
        waiting = q.txns_in_state(self.journal.conn, TxnState.OFFLINE_PENDING)
        oldest = None
        if waiting:
            first = datetime.fromisoformat(waiting[0].created_at)
            oldest = self.terminal.base_clock.now() - first
        try:
            check_permission(self.policy, op, Operation.OFFLINE_SALE)
            check_offline_allowed(
                self.policy, amount, len(waiting), sum(t.amount for t in waiting), oldest
            )
        except Refused as exc:
            return Refused(
                exc.code,
                f"The host cannot be reached and this sale cannot be approved offline: {exc.en}",
                f"无法连接主机，本笔交易不能离线批准：{exc.zh}",
                host="unreachable",
                **exc.details,
            )
        return None

    async def void(self, orig_stan: int, *, op: Operator = DEFAULT_OPERATOR) -> TxnResult:
        try:
            v.parse_original_ref(self.terminal.batch, orig_stan)
        except Refused as exc:
            raise self._refused(exc, Operation.VOID) from None
        # A void gives back the original's amount: that is what the role's void limit caps.
        orig = q.find_txn(self.journal.conn, self.terminal.batch, orig_stan)
        self._check(op, Operation.VOID, None if orig is None else orig.amount)
        result = await self._online(
            lambda: self.payments.void(orig_stan, operator=op.id), Operation.VOID
        )
        self._receipt(result)
        return result

    async def refund(
        self,
        amount: int,
        *,
        orig_batch: int,
        orig_stan: int,
        orig_date: str | None = None,
        rrn: str | None = None,
        pan: str | None = None,
        op: Operator = DEFAULT_OPERATOR,
    ) -> TxnResult:
        try:
            v.parse_original_ref(orig_batch, orig_stan, orig_date)
            if rrn is not None:
                v.check_rrn(rrn)
            if pan is not None:
                v.check_pan(pan)
        except Refused as exc:
            raise self._refused(exc, Operation.REFUND) from None
        self._check(op, Operation.REFUND, amount)
        try:
            self.payments.check_refundable(amount, orig_batch, orig_stan, rrn)
        except Refused as exc:
            raise self._refused(exc, Operation.REFUND) from None
        result = await self._online(
            lambda: self.payments.refund(
                amount,
                orig_batch=orig_batch,
                orig_stan=orig_stan,
                orig_date=orig_date,
                rrn=rrn,
                pan=pan,
                operator=op.id,
            ),
            Operation.REFUND,
        )
        self._receipt(result)
        return result

    async def settle(self, *, op: Operator = DEFAULT_OPERATOR) -> SettleReport:
        if q.unfinished_settlement(self.journal.conn) is None:
            self._check(op, Operation.SETTLE)
        with self.terminal.working():
            return await Settlement(self.terminal, self.printing, op.id).run()

    async def resume(self) -> SettleReport | None:
        """Finish what a restart interrupted: reversals, advices, an unfinished settlement."""
        with self.terminal.working():
            await self.payments.recover()
            if q.unfinished_settlement(self.journal.conn) is not None:
                return await Settlement(self.terminal, self.printing).run()
        return None

    def reprint(self, *, op: Operator = DEFAULT_OPERATOR) -> int:
        """Print queued slips and receipts; returns how many still wait (printer not ready)."""
        self._check(op, Operation.REPRINT)
        return self.printing.flush(reprint=True)

    def reprint_copy(
        self, voucher: int | None = None, *, batch: int | None = None,
        op: Operator = DEFAULT_OPERATOR,
    ) -> int:  # fmt: skip
        """Print a copy marked REPRINT of the receipt of ``voucher`` (of ``batch``, if given),
        or of the last settlement slip when ``voucher`` is None; how many still wait."""
        self._check(op, Operation.REPRINT)
        try:
            doc = (
                reprints.last_slip(self.printing)
                if voucher is None
                else reprints.find_receipt(self.printing, voucher, batch)
            )
        except Refused as exc:
            raise self._refused(exc, Operation.REPRINT) from None
        return reprints.reprint(self.printing, doc)

    def add_operator(
        self,
        op_id: str,
        name: str,
        role: Role,
        new_password: str,
        operator: str | None = None,
        password: str | None = None,
    ) -> Operator:
        """Add an operator; once any exist, only a logged-in supervisor may add more."""
        if self.operators.list():
            by = self.login(operator, password)
            if by.role is not Role.SUPERVISOR:
                raise self._refused(
                    Refused(
                        "permission.role",
                        "Only a supervisor may add operators.",
                        "只有主管可以添加操作员。",
                        operator=by.id,
                    ),
                    Operation.SIGN_ON,
                )
        with self.journal.write("operator"):
            return self.operators.add(op_id, name, role, new_password)

    def status(self) -> dict[str, object]:
        data = self.terminal.status()
        data["print_queue"] = self.printing.pending()
        data["printer_last_error"] = self.printing.last_error()
        data["operators"] = len(self.operators.list())
        return data

    def voidable(self) -> list[int]:
        return [
            t.stan
            for t in q.batch_txns(self.journal.conn, self.terminal.batch)
            if t.kind is TxnKind.SALE and t.state is TxnState.APPROVED and not t.voided
        ]

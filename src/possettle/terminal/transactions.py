"""Sale, void, refund and offline sale; reversals and advices that must reach the host.

Each financial message is journaled as an intent (with its STAN and, for a 0200, a pending
reversal reason ``98``) in one transaction *before* a byte leaves, and its outcome after.
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.cards import card_org, mask_pan
from possettle.iso8583.codec import Fields
from possettle.link import requests as m
from possettle.money import yuan
from possettle.terminal.errors import HostRefused, HostUnreachable, Refused
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import NoReply, ReversalStuck
from possettle.terminal.journal.records import TxnKind, TxnRow, TxnState
from possettle.terminal.operations import online
from possettle.terminal.operations.answer import BadMac, NotSent, Unanswered
from possettle.terminal.shell import Terminal
from possettle.terminal.validation import check_pin


@dataclass(frozen=True, slots=True)
class TxnResult:
    kind: TxnKind
    batch: int
    stan: int
    state: TxnState
    code: str
    amount: int
    pan_masked: str
    rrn: str = ""
    auth_code: str = ""
    offline: bool = False

    @property
    def approved(self) -> bool:
        return self.state in (TxnState.APPROVED, TxnState.OFFLINE_PENDING)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "batch": self.batch,
            "stan": self.stan,
            "state": self.state.value,
            "code": self.code,
            "approved": self.approved,
            "amount": self.amount,
            "pan": self.pan_masked,
            "rrn": self.rrn,
            "auth_code": self.auth_code,
            "offline": self.offline,
        }


def _result(row: TxnRow) -> TxnResult:
    return TxnResult(
        row.kind,
        row.batch,
        row.stan,
        row.state,
        row.response_code,
        row.amount,
        row.pan_masked,
        row.rrn,
        row.auth_code,
        row.kind is TxnKind.OFFLINE_SALE,
    )


class Payments:
    """The financial operations of one :class:`Terminal`."""

    def __init__(self, terminal: Terminal) -> None:
        self.t = terminal

    # ------------------------------------------------------------------ requests

    def _request(self, row: TxnRow, pan: str, pin: str | None = None) -> Fields:
        t, c = self.t, self.t.config
        if row.kind is TxnKind.SALE:
            fields = m.sale(
                c.tid,
                c.mid,
                row.stan,
                row.batch,
                pan=pan,
                amount=row.amount,
                pin=pin,
                pik=t.key("pik") if pin else None,
            )
            fields["22"] = row.entry_mode
            return fields
        if row.kind is TxnKind.VOID:
            assert row.orig_batch is not None and row.orig_stan is not None
            orig = q.find_txn(t.journal.conn, row.orig_batch, row.orig_stan)
            return m.void(
                c.tid,
                c.mid,
                row.stan,
                row.batch,
                pan=pan,
                amount=row.amount,
                orig_batch=row.orig_batch,
                orig_stan=row.orig_stan,
                rrn=orig.rrn if orig else "",
                auth_code=orig.auth_code if orig else "",
            )
        if row.kind is TxnKind.REFUND:
            assert row.orig_batch is not None and row.orig_stan is not None
            return m.refund(
                c.tid,
                c.mid,
                row.stan,
                row.batch,
                pan=pan,
                amount=row.amount,
                orig_batch=row.orig_batch,
                orig_stan=row.orig_stan,
                orig_date=row.orig_date or row.local_date,
                rrn=row.rrn,
                card_org=row.card_org,
            )
        return m.offline_advice(
            c.tid,
            c.mid,
            row.stan,
            row.batch,
            pan=pan,
            amount=row.amount,
            time_hhmmss=row.local_time,
            date_mmdd=row.local_date,
            auth_code=row.auth_code,
        )

    def _new(self, kind: TxnKind, state: TxnState, pan: str, amount: int, **extra: object) -> int:
        """The intent: STAN, row and (for a 0200) its pending reversal, in one transaction."""
        t = self.t
        now = t.local_now()  # fields 12/13 and 61.3 carry the shop's local time
        org = card_org(pan)
        with t.journal.write("txn_intent") as conn:
            stan = q.next_stan(conn)
            if kind is TxnKind.OFFLINE_SALE:
                extra["auth_code"] = f"F{stan % 100000:05d}"  # §2: F + 5 digits offline
            new = q.NewTxn(
                batch=q.current_batch(conn),
                stan=stan,
                kind=kind,
                state=state,
                amount=amount,
                currency=t.config.currency,
                pan=pan,
                pan_masked=mask_pan(pan),
                card_org=org.value,
                domestic=org.domestic,
                entry_mode=str(extra.pop("entry_mode", "012")),
                operator=str(extra.pop("operator", "01")),
                local_time=now.strftime("%H%M%S"),
                local_date=now.strftime("%m%d"),
                created_at=t.journal.now(),
                auth_code=str(extra.pop("auth_code", "")),
                rrn=str(extra.pop("rrn", "")),
                orig_batch=extra.pop("orig_batch", None),  # type: ignore[arg-type]
                orig_stan=extra.pop("orig_stan", None),  # type: ignore[arg-type]
                orig_date=extra.pop("orig_date", None),  # type: ignore[arg-type]
            )
            txn_id = q.insert_txn(conn, t.journal.vault, new)
            if kind.reversible and state is TxnState.PENDING:
                q.add_reversal(conn, txn_id, online.REVERSAL_NO_REPLY, t.journal.now())
        return txn_id

    def _apply(self, row: TxnRow, outcome: online.Outcome) -> TxnRow:
        t = self.t
        with t.journal.write("txn_outcome") as conn:
            q.set_outcome(
                conn,
                row.id,
                outcome.state,
                code=outcome.code,
                rrn=outcome.rrn,
                auth_code=outcome.auth_code,
            )
            if outcome.reversal is None:
                q.drop_reversal(conn, row.id)
            else:
                q.add_reversal(conn, row.id, outcome.reversal, t.journal.now())
            if outcome.resign:
                t.journal.set_meta(conn, "needs_signon", "1")
            if row.kind is TxnKind.VOID and outcome.approved:
                assert row.orig_batch is not None and row.orig_stan is not None
                orig = q.find_txn(conn, row.orig_batch, row.orig_stan)
                if orig is not None:
                    q.mark_voided(conn, orig.id)
            return q.get_txn(conn, row.id)

    async def _send(self, row: TxnRow, pan: str, pin: str | None = None) -> TxnRow:
        kind = "offline_advice" if row.kind is TxnKind.OFFLINE_SALE else row.kind.value
        answer = await self.t.deliver(kind, self._request(row, pan, pin))
        match answer:
            case BadMac():
                await self.t.drop_link()
            case Unanswered(error=error):
                self.t.journal.event(
                    NoReply(stan=row.stan, error=str(error), link_failure=error.kind)
                )
        return self._apply(row, online.outcome(row.kind, answer))

    # ------------------------------------------------------------------ operations

    async def sale(
        self,
        pan: str,
        amount: int,
        *,
        pin: str | None = None,
        operator: str = "01",
        allow_offline: bool = True,
    ) -> TxnResult:
        if pin is not None:
            check_pin(pin)  # before anything is sent or a STAN taken: it would leave a reversal
        try:
            await self.recover()
        except HostUnreachable as exc:  # nothing was sent: store and forward, if allowed
            if allow_offline:
                return self.offline_sale(pan, amount, operator=operator)
            raise HostUnreachable.said("sale.offline_not_allowed") from exc
        entry = "011" if pin else "012"
        txn_id = self._new(
            TxnKind.SALE, TxnState.PENDING, pan, amount, entry_mode=entry, operator=operator
        )
        row = await self._send(q.get_txn(self.t.journal.conn, txn_id), pan, pin)
        if row.state is TxnState.FAILED and allow_offline:
            return self.offline_sale(pan, amount, operator=operator)
        return _result(row)

    def offline_sale(self, pan: str, amount: int, *, operator: str = "01") -> TxnResult:
        """Store-and-forward: approved here, forwarded as a 0220 advice later (§5)."""
        t = self.t
        txn_id = self._new(
            TxnKind.OFFLINE_SALE, TxnState.OFFLINE_PENDING, pan, amount, operator=operator
        )
        return _result(q.get_txn(t.journal.conn, txn_id))

    async def void(self, orig_stan: int, *, operator: str = "01") -> TxnResult:
        t = self.t
        orig = q.find_txn(t.journal.conn, t.batch, orig_stan)
        if orig is None or orig.kind is not TxnKind.SALE or orig.state is not TxnState.APPROVED:
            raise Refused(
                "input.original",
                f"no approved sale with STAN {orig_stan:06d} in the open batch {t.batch:06d}",
                f"当前批次 {t.batch:06d} 中没有流水号 {orig_stan:06d} 的已批准消费",
                stan=orig_stan,
            )
        if orig.voided:
            raise Refused(
                "input.original",
                f"sale {orig_stan:06d} is already voided",
                f"消费 {orig_stan:06d} 已撤销",
                stan=orig_stan,
            )
        # Local refusals first: they need no host. Then reversals and advices (§5).
        await self.recover()
        pan = q.open_pan(t.journal.conn, t.journal.vault, orig)
        txn_id = self._new(
            TxnKind.VOID,
            TxnState.PENDING,
            pan,
            orig.amount,
            operator=operator,
            orig_batch=orig.batch,
            orig_stan=orig.stan,
        )
        return _result(await self._send(q.get_txn(t.journal.conn, txn_id), pan))

    def refundable(self, orig: TxnRow) -> int:
        """What is left to refund of the sale ``orig`` as this journal knows it: its amount
        less the refunds approved or still being advised (a 0220 is repeated until the host
        acknowledges it, so it counts); nothing once it was voided."""
        if orig.voided:
            return 0
        counted = (TxnState.APPROVED, TxnState.PENDING)
        refunds = q.refunds_of(self.t.journal.conn, orig.batch, orig.stan)
        return max(orig.amount - sum(r.amount for r in refunds if r.state in counted), 0)

    def check_refundable(
        self, amount: int, orig_batch: int, orig_stan: int, rrn: str | None = None
    ) -> None:
        """Refuse, locally and with the figure, a refund above what is left of its sale.

        Only a sale this journal holds is checked (and only when a given RRN is that sale's):
        for an original of another batch or day the host decides, as it always does.
        """
        orig = q.find_txn(self.t.journal.conn, orig_batch, orig_stan)
        refundable = (TxnKind.SALE, TxnKind.OFFLINE_SALE)
        if orig is None or orig.kind not in refundable or (rrn and rrn != orig.rrn):
            return
        if orig.state not in (TxnState.APPROVED, TxnState.OFFLINE_PENDING):
            return
        left = self.refundable(orig)
        if amount <= left:
            return
        ref = f"{orig.batch:06d}/{orig.stan:06d}"
        raise Refused(
            "input.amount",
            f"A refund of {yuan(amount)} is more than is left of sale {ref} "
            f"({yuan(orig.amount)}): {yuan(left)} left to refund.",
            f"退货金额 {yuan(amount)} 超过原交易 {ref}（{yuan(orig.amount)}）剩余可退金额，"
            f"可退金额 {yuan(left)}。",
            reason="over_refundable",
            amount=amount,
            refundable=left,
            orig_batch=orig.batch,
            orig_stan=orig.stan,
        )

    async def refund(
        self,
        amount: int,
        *,
        orig_batch: int,
        orig_stan: int,
        orig_date: str | None = None,
        rrn: str | None = None,
        pan: str | None = None,
        operator: str = "01",
    ) -> TxnResult:
        t = self.t
        orig = q.find_txn(t.journal.conn, orig_batch, orig_stan)
        if orig is not None:
            pan = pan or q.open_pan(t.journal.conn, t.journal.vault, orig)
            rrn = rrn or orig.rrn
            orig_date = orig_date or orig.local_date
        self.check_refundable(amount, orig_batch, orig_stan, rrn)
        if not pan or not rrn or not orig_date:
            raise Refused(
                "input.original",
                "the original sale is not in this terminal's journal: give its PAN, RRN and date",
                "本机流水中没有原交易：请提供原卡号、参考号和日期",
                batch=orig_batch,
                stan=orig_stan,
            )
        await self.recover()
        txn_id = self._new(
            TxnKind.REFUND,
            TxnState.PENDING,
            pan,
            amount,
            operator=operator,
            orig_batch=orig_batch,
            orig_stan=orig_stan,
            orig_date=orig_date,
            rrn=rrn,
        )
        return _result(await self._send(q.get_txn(t.journal.conn, txn_id), pan))

    # ------------------------------------------------------------------ recovery

    async def recover(self) -> None:
        """Sign on if needed, then reversals, then advices: protocol §5's order.

        A reply that asks for a fresh sign-on (A0, 22, 77 or header requirement 3) leaves its
        reversal or advice pending; it gets one fresh sign-on and one more round here.
        """
        for _ in range(2):
            if not self.t.signed_on:
                await self.t.sign_on()
            await self.send_reversals()
            await self.forward_advices()
            if self.t.signed_on:
                return

    async def send_reversals(self) -> int:
        """Send every pending reversal; returns how many are still pending.

        Raises :class:`HostUnreachable` when the host cannot be reached at all: nothing was
        sent, and the caller decides (sell offline, stop the settlement, tell the merchant).
        """
        t = self.t
        left = 0
        for rev in q.pending_reversals(t.journal.conn):
            row = q.get_txn(t.journal.conn, rev.txn_id)
            pan = q.open_pan(t.journal.conn, t.journal.vault, row)
            fields = m.reversal(self._request(row, pan), rev.reason, row.auth_code or None)
            answer = await t.deliver("reversal", fields)
            if isinstance(answer, NotSent):
                raise answer.error
            code = online.reversal_code(answer)
            with t.journal.write("reversal_outcome") as conn:
                if online.reversal_finished(code):
                    q.reversal_done(conn, rev.id, code, t.journal.now())
                    q.set_outcome(conn, row.id, TxnState.REVERSED, code=row.response_code)
                else:
                    q.reversal_attempt(conn, rev.id, code)
                    if rev.attempts + 1 >= t.config.reversal_attempts:
                        stuck = ReversalStuck(
                            code=code, batch=rev.batch, stan=rev.stan, attempts=rev.attempts + 1
                        )
                        t.journal.add_event(conn, stuck)
            if not online.reversal_finished(code):
                left += 1
                if code == "":
                    break  # the link is gone: the rest would time out too
        return left

    async def forward_advices(self) -> int:
        """Offline sales and unacknowledged refunds, in order, each until acknowledged."""
        t = self.t
        waiting = q.txns_in_state(t.journal.conn, TxnState.OFFLINE_PENDING, TxnState.PENDING)
        left = 0
        for row in waiting:
            if row.kind.reversible:
                continue  # a 0200 of unknown fate is reversed, never repeated
            pan = q.open_pan(t.journal.conn, t.journal.vault, row)
            done = await self._send(row, pan)
            if done.state in (TxnState.OFFLINE_PENDING, TxnState.PENDING):
                left += 1
                break  # keep the order: later advices wait for this one
        return left


def raise_for(result: TxnResult) -> None:
    if not result.approved:
        raise HostRefused(result.code, f"{result.kind.value} STAN {result.stan:06d}: {result.code}")

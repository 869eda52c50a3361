"""The terminal's asyncio shell: one journal, one link to the host, one printer.

Everything that touches a socket lives here and in :mod:`.transactions` /
:mod:`.settlement_run`; the decisions are in :mod:`.operations`. Every message passes three
crash points (``send.<kind>.before``, ``send.<kind>.after``, ``recv.<kind>.after``) and every
journal write two (see :mod:`.journal.store`). :meth:`Terminal.deliver` is the one place the
terminal calls the link: the link's errors become the terminal's (:func:`answer_for`) there
and nowhere else.

Online work always starts with :meth:`Terminal.recover`: sign on if needed, send pending
reversals (protocol §5: before any other online message), forward offline advices and
repeated refunds in order, then finish an interrupted settlement.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from possettle.clock import Clock, OffsetClock, SystemClock
from possettle.crypto.errors import KeyCheckError
from possettle.crypto.keys import Key, check_value_text
from possettle.crypto.vault import Vault
from possettle.errors import ConfigError
from possettle.iso8583.codec import Fields
from possettle.iso8583.fields import NetworkCode
from possettle.iso8583.framing import Tpdu, version_text
from possettle.link import requests as m
from possettle.link.client import Link, LinkError, LinkTimeout, LinkUnreachable, ReplyMacError
from possettle.terminal.config import (
    JOURNAL_FILE,
    KEY_FILE,
    MERCHANT_ADDRESS_META,
    MERCHANT_NAME_META,
    TerminalConfig,
)
from possettle.terminal.crashpoints import CrashPoints
from possettle.terminal.errors import (
    BadReplyMac,
    HostRefused,
    HostUnreachable,
    NoReply,
    ReplyTimeout,
)
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import (
    BatchAdoption,
    BatchMismatch,
    KeyCheckFailed,
    SignedOff,
    SignedOn,
    SignOnRefused,
)
from possettle.terminal.journal.records import SettleStep, TxnState
from possettle.terminal.journal.store import Journal
from possettle.terminal.keepalive import LINK_STATE, LinkState
from possettle.terminal.operations import signon
from possettle.terminal.operations.answer import Answer, BadMac, NotSent, Replied, Unanswered
from possettle.terminal.operations.settlement import totals
from possettle.terminal.policy import TerminalPolicy


@dataclass(frozen=True, slots=True)
class SignOn:
    code: str
    batch: int
    pik_check: str
    mak_check: str
    clock_offset: float


@dataclass
class LinkActivity:
    """The terminal's own traffic, as the keep-alive (:mod:`.informer`) needs to know it.

    Times are the terminal's monotonic clock; ``busy`` counts transactions and settlements in
    progress (:meth:`Terminal.working`).
    """

    last_exchange: float | None = None  # the last message ended, answered or not
    last_answer: float | None = None  # the last message was answered
    busy: int = 0


class Terminal:
    """One POS terminal: its directory, journal, link and printer."""

    def __init__(
        self,
        directory: Path,
        config: TerminalConfig,
        journal: Journal,
        base_clock: Clock,
        crash: CrashPoints,
    ) -> None:
        self.directory = directory
        self.config = config
        self.journal = journal
        self.base_clock = base_clock
        self.crash = crash
        self.activity = LinkActivity()
        self._link: Link | None = None
        # One message on the line at a time: an echo waits for a sale's reply, and a sale for
        # an echo's (one connection, replies matched by STAN, no multiplexing).
        self._wire = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        clock: Clock | None = None,
        crash: CrashPoints | None = None,
        extra_schema: tuple[str, ...] = (),
    ) -> Terminal:
        config = TerminalConfig.load(directory)
        base: Clock = clock or SystemClock()
        if config.clock_skew_seconds:
            base = OffsetClock(timedelta(seconds=config.clock_skew_seconds), base)
        crash = crash if crash is not None else CrashPoints.from_env()
        vault = Vault.load_or_create(directory / KEY_FILE)
        journal = Journal.open(
            directory / JOURNAL_FILE,
            clock=base,
            vault=vault,
            crash=crash,
            max_bytes=config.max_journal_bytes,
            extra_schema=extra_schema,
        )
        return cls(directory, config, journal, base, crash)

    async def close(self) -> None:
        if self._link is not None:
            await self._link.close()
            self._link = None
        self.journal.close()

    # --------------------------------------------------------------------- state

    @property
    def clock(self) -> Clock:
        """The terminal's clock: the device clock corrected by the host's time at sign-on."""
        offset = float(self.journal.get_meta("clock_offset") or 0.0)
        return OffsetClock(timedelta(seconds=offset), self.base_clock)

    def local_now(self) -> datetime:
        """The terminal's time in the shop's timezone (the policy's), for fields 12/13/61.3."""
        now = self.clock.now()
        try:
            return now.astimezone(TerminalPolicy.from_dict(self.config.policy).tz())
        except ConfigError:
            return now

    @property
    def batch(self) -> int:
        return q.current_batch(self.journal.conn)

    def key(self, name: str) -> Key | None:
        return q.load_key(self.journal.conn, self.journal.vault, name)

    @property
    def signed_on(self) -> bool:
        return (
            self.key("mak") is not None
            and self.key("pik") is not None
            and self.journal.get_meta("needs_signon") != "1"
        )

    def allocate_stan(self) -> int:
        with self.journal.write("meta") as conn:
            return q.next_stan(conn)

    # ----------------------------------------------------------------------- link

    def link(self) -> Link:
        if self._link is None:
            tmk = self.key("tmk")
            if tmk is None:
                no_tmk = "no TMK loaded: run `possettle terminal init --tmk HEX`"
                raise HostRefused("keys", no_tmk).worded("signon.no_tmk")
            c = self.config
            self._link = Link(
                c.host,
                c.port,
                c.tid,
                c.mid,
                tmk,
                version=c.version,
                timeout=c.timeout,
                tpdu=Tpdu(dest=c.tpdu_destination, src=c.tpdu_source),
            )
        link = self._link
        link.pik, link.mak = self.key("pik"), self.key("mak")
        link.batch = self.batch
        return link

    async def drop_link(self) -> None:
        if self._link is not None:
            await self._link.close()

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """A transaction or settlement in progress: no echo or report comes between its
        messages (the keep-alive waits until it ends)."""
        self.activity.busy += 1
        try:
            yield
        finally:
            self.activity.busy -= 1

    async def deliver(self, kind: str, fields: Fields) -> Answer:
        """Send one request and read its reply, passing the message's crash points.

        The one place the terminal calls the link: the reply, or the link's failure as the
        terminal's own error in an :data:`~.operations.answer.Answer`, for the caller that
        knows what silence means for its message (a 0200 is reversed, a 0500 stops).
        """
        async with self._wire:
            link = self.link()
            self.crash.hit(f"send.{kind}.before")
            try:
                exchange = await link.send(
                    fields, on_sent=lambda: self.crash.hit(f"send.{kind}.after")
                )
            except LinkError as exc:
                return answer_for(exc)
            finally:
                self.activity.last_exchange = self.base_clock.monotonic()
            self.activity.last_answer = self.activity.last_exchange
        self.crash.hit(f"recv.{kind}.after")
        resign = exchange.header.requirement == 3
        if resign:
            with self.journal.write("meta") as conn:
                self.journal.set_meta(conn, "needs_signon", "1")
        return Replied(exchange.reply, resign=resign)

    async def exchange(self, kind: str, fields: Fields) -> Replied:
        """:meth:`deliver` for a message whose only use is its reply (sign-on, echo, status
        report): no reply is a fault, raised as :class:`~.errors.LinkDown`."""
        return _replied(await self.deliver(kind, fields))

    # -------------------------------------------------------------------- sign-on

    async def sign_on(self, operator: str = "01") -> SignOn:
        """0800/0810: load the working keys, verify check values, adopt batch and time."""
        stan = self.allocate_stan()
        fields = m.sign_on(
            self.config.tid, self.config.mid, stan, self.batch, operator, merchant=True
        )
        ex = await self.exchange("sign_on", fields)
        tmk = self.key("tmk")
        assert tmk is not None  # link() checked
        outcome = signon.after_sign_on(ex.reply, tmk)
        if isinstance(outcome, signon.SignOnRefused):
            event = SignOnRefused(code=outcome.code, stan=stan, field63=outcome.text)
            self.journal.event(event)
            refused = HostRefused(
                outcome.code, f"sign-on refused with {outcome.code} {outcome.text}"
            )
            if outcome.code == "58" and event.min_version is not None:
                refused.worded(
                    "signon.min_version",
                    version=version_text(self.config.version),
                    minimum=version_text(event.min_version),
                )
            raise refused
        if isinstance(outcome, signon.KeysUnreadable):
            # The host has replaced our session with keys we cannot read (§6): whatever keys
            # we still hold are dead there too, so we stay signed off until a sign-on works.
            with self.journal.write("meta") as conn:
                self.journal.set_meta(conn, "needs_signon", "1")
                self.journal.add_event(conn, KeyCheckFailed(error=str(outcome.error)))
            message = f"working keys failed their check: {outcome.error}"
            refused = HostRefused("keys", message)
            here = check_value_text(tmk)
            if isinstance(outcome.error, KeyCheckError):
                refused.worded(
                    "signon.tmk_mismatch",
                    tmk_check=here,
                    key=outcome.error.key,
                    expected=outcome.error.expected.hex().upper(),
                    actual=outcome.error.actual.hex().upper(),
                )
            else:
                refused.worded("signon.keys_unreadable", tmk_check=here)
            raise refused from outcome.error
        keys, host_batch = outcome.keys, outcome.batch
        offset = self._offset_from(ex.reply)
        with self.journal.write("sign_on") as conn:
            q.store_key(conn, self.journal.vault, "pik", keys.pik)
            q.store_key(conn, self.journal.vault, "mak", keys.mak)
            self.journal.set_meta(conn, "needs_signon", "0")
            self.journal.set_meta(conn, "signed_on_at", self.journal.now())
            self.journal.set_meta(conn, "clock_offset", f"{offset:.3f}")
            if outcome.merchant is not None:
                # printed on receipts and slips from now on (terminal/printing.py)
                self.journal.set_meta(conn, MERCHANT_NAME_META, outcome.merchant.name or "")
                self.journal.set_meta(conn, MERCHANT_ADDRESS_META, outcome.merchant.address or "")
            local = q.current_batch(conn)
            if host_batch != local:
                if self._may_adopt(conn, local, host_batch):
                    if q.abandon_settlement(conn, local):
                        # an empty batch the host never opened: nothing to settle under it
                        self.journal.add_event(conn, BatchAdoption(local=local, host=host_batch))
                    q.set_batch(conn, host_batch)
                else:
                    # Keep our open batch: it settles under its own number (the doctor
                    # reads this event as batch.sequence_mismatch).
                    self.journal.add_event(conn, BatchMismatch(local=local, host=host_batch))
            self.journal.add_event(conn, SignedOn(batch=host_batch))
        return SignOn(
            "00",
            self.batch,
            check_value_text(keys.pik),
            check_value_text(keys.mak),
            offset,
        )

    def _offset_from(self, reply: Fields) -> float:
        """Seconds to add to the device clock to read the host's time (fields 12/13)."""
        offset = host_clock_offset(reply, self.base_clock.now())
        if offset is None:
            return float(self.journal.get_meta("clock_offset") or 0.0)
        return round(offset)

    @staticmethod
    def _may_adopt(conn: sqlite3.Connection, local: int, host_batch: int) -> bool:
        """Whether sign-on may take the host's batch number instead of ours (causes.md,
        batch.sequence_mismatch: "adopt the host's batch").

        Only when ours holds no transaction, any settlement in progress is of our batch and
        has had no 0500 accepted (the host answers a batch it does not expect with 77, so it
        holds nothing of it), and we have not settled the host's batch already.
        """
        if q.batch_txns(conn, local):
            return False
        unfinished = q.unfinished_settlement(conn)
        if unfinished is not None and (
            unfinished.batch != local or unfinished.step not in q.BEFORE_HOST_TOOK_IT
        ):
            return False
        theirs = q.get_settlement(conn, host_batch)
        return theirs is None or theirs.step is not SettleStep.DONE

    async def status_report(self, report: bytes) -> None:
        """0820/362: hand the host this terminal's latest health report (compact JSON)."""
        ex = _replied(await self.send_status_report(report))
        if ex.code != "00":
            raise HostRefused(ex.code, f"status report answered {ex.code}")

    async def send_status_report(self, report: bytes) -> Answer:
        """0820/362 and what came back, whatever the code; its STAN is the journal's next."""
        stan = self.allocate_stan()
        fields = m.status_report(self.config.tid, self.config.mid, stan, self.batch, report)
        return await self.deliver("status_report", fields)

    async def echo(self) -> float:
        """0820 echo; returns the round trip in seconds."""
        start = self.base_clock.monotonic()
        ex = _replied(await self.send_echo())
        if ex.code != "00":
            raise HostRefused(ex.code, f"echo answered {ex.code}")
        return self.base_clock.monotonic() - start

    async def send_echo(self) -> Answer:
        """0820 echo (60.3 ``301``) and what came back, whatever the code."""
        stan = self.allocate_stan()
        fields = m.management(self.config.tid, self.config.mid, stan, self.batch, NetworkCode.ECHO)
        return await self.deliver("echo", fields)

    async def sign_off(self) -> None:
        """0820 sign-off (60.3 ``002``): the working keys are dropped whatever the answer."""
        stan = self.allocate_stan()
        fields = m.management(
            self.config.tid, self.config.mid, stan, self.batch, NetworkCode.SIGN_OFF
        )
        try:
            ex = await self.exchange("sign_off", fields)
        finally:
            with self.journal.write("sign_on") as conn:
                q.drop_key(conn, "pik")
                q.drop_key(conn, "mak")
                self.journal.set_meta(conn, "needs_signon", "1")
                self.journal.add_event(conn, SignedOff(stan=stan))
            await self.drop_link()
        if ex.code != "00":
            raise HostRefused(ex.code, f"sign-off answered {ex.code}")

    # --------------------------------------------------------------------- status

    def status(self) -> dict[str, Any]:
        conn = self.journal.conn
        batch = self.batch
        rows = q.batch_txns(conn, batch)
        last = q.last_settlement(conn)
        keys = {
            name: (check_value_text(k) if (k := self.key(name)) else None)
            for name in ("tmk", "pik", "mak")
        }
        return {
            "tid": self.config.tid,
            "mid": self.config.mid,
            "host": f"{self.config.host}:{self.config.port}",
            "version": self.config.version,
            "signed_on": self.signed_on,
            "signed_on_at": self.journal.get_meta("signed_on_at"),
            "key_check_values": keys,
            "batch": batch,
            "totals": _totals_dict(totals(rows)),
            "transactions": len(rows),
            "pending_reversals": [
                {"batch": r.batch, "stan": r.stan, "reason": r.reason, "attempts": r.attempts}
                for r in q.pending_reversals(conn)
            ],
            "offline_pending": len(q.txns_in_state(conn, TxnState.OFFLINE_PENDING)),
            "unclean_shutdown": self.journal.unclean,
            # as the keep-alive last found it (terminal/informer.py); "unknown" before then
            "link": LinkState.read(self.journal.get_meta(LINK_STATE)).value,
            "last_settlement": None
            if last is None
            else {"batch": last.batch, "step": last.step.value, "result": last.result},
        }


def answer_for(exc: LinkError) -> NotSent | Unanswered | BadMac:
    """The link's error as the terminal's, the link's kept as its ``__cause__``."""
    message = str(exc)
    answer: NotSent | Unanswered | BadMac
    kind = exc.kind
    if isinstance(exc, LinkUnreachable):
        answer = NotSent(HostUnreachable(message, kind))
    elif isinstance(exc, ReplyMacError):
        answer = BadMac(BadReplyMac(message, kind))
    elif isinstance(exc, LinkTimeout):
        answer = Unanswered(ReplyTimeout(message, kind))
    else:  # the connection dropped, or the host closed it, after the request left
        answer = Unanswered(NoReply(message, kind))
    answer.error.__cause__ = exc
    return answer


def _replied(answer: Answer) -> Replied:
    """The reply, for a message that is of no use without one; no reply is a fault."""
    if isinstance(answer, Replied):
        return answer
    raise answer.error


def host_clock_offset(reply: Fields, device: datetime) -> float | None:
    """Seconds from ``device`` to the host's time in a reply's fields 12/13, or None.

    MMDD has no year: the year that puts the host nearest the device clock is taken.
    """
    hhmmss, mmdd = reply.get("12"), reply.get("13")
    if not hhmmss or not mmdd:
        return None
    try:
        host = device.replace(
            month=int(mmdd[:2]), day=int(mmdd[2:]), hour=int(hhmmss[:2]),
            minute=int(hhmmss[2:4]), second=int(hhmmss[4:]), microsecond=0,
        )  # fmt: skip
    except ValueError:
        return None
    candidates = [host.replace(year=host.year + d) for d in (-1, 0, 1) if _valid(host, d)]
    best = min(candidates, key=lambda h: abs((h - device).total_seconds()))
    return (best - device).total_seconds()


def _valid(at: datetime, years: int) -> bool:
    try:
        at.replace(year=at.year + years)
    except ValueError:
        return False
    return True


def _totals_dict(t: Any) -> dict[str, Any]:
    return {
        half: {
            "debit_amount": h.debit_amount,
            "debit_count": h.debit_count,
            "credit_amount": h.credit_amount,
            "credit_count": h.credit_count,
        }
        for half, h in (("domestic", t.domestic), ("foreign", t.foreign))
    }

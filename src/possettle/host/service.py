"""The host's request pipeline: decode, identify, authenticate, dispatch, encode.

It takes one frame and returns an :class:`Answer`: the reply bytes (or ``None`` when the frame
cannot be answered and the connection should close), and whether the frame was one the host
understood (the shell keeps a connection that never sends one on a short leash). Sockets
live in :mod:`possettle.host.server`.

Format errors and MAC errors are not written one ledger row each: they are counted and
sampled (:mod:`possettle.host.bad_frames`).

A sale may be decided on the terminal's cached state; every other message reads the ledger
and drops the cached entry (:mod:`possettle.host.state_cache` says why that is safe).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import structlog

from possettle.host.context import HostContext
from possettle.host.errors import StaleTerminalState
from possettle.host.handlers.dispatch import HANDLERS
from possettle.host.policy import SettlementMac
from possettle.host.request import Reply, Request, encode_error_reply, encode_reply, mac_ok
from possettle.iso8583 import codec
from possettle.iso8583.classify import MessageKind, classify
from possettle.iso8583.codes import STATE_REFUSALS
from possettle.iso8583.errors import DecodeError
from possettle.iso8583.fields import Field60
from possettle.iso8583.framing import Frame
from possettle.iso8583.mask import masked
from possettle.ledger.kinds import BadFrameKind
from possettle.ledger.terminal_state import (
    TerminalState,
    load_terminal,
    mark_needs_signon,
)

log = structlog.get_logger("possettle.host")

#: refusals that only the terminal's state causes, that book nothing, and that a stale cached
#: state could cause wrongly: unknown or disabled, merchant, not signed on, batch
_STATE_REFUSALS = STATE_REFUSALS
#: the longest masked detail a bad-frame sample keeps (characters of JSON)
MAX_DETAIL = 2048


@dataclass(frozen=True, slots=True)
class Answer:
    #: the reply frame; None: close the connection without one
    reply: bytes | None
    #: the frame decoded and was answered as a known message (not a format error)
    valid: bool


class HostService:
    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx

    async def handle(self, frame: Frame) -> Answer:
        """The answer to one frame; its time from decode to encoded reply is observed."""
        start = self.ctx.clock.monotonic()
        kind = "format_error"
        try:
            try:
                fields = codec.decode(frame.body)
                message = classify(fields)
                f60 = Field60.parse(fields["60"])
            except DecodeError as exc:
                return Answer(await self._format_error(frame, exc), valid=False)
            kind = message.value
            return Answer(await self._answer(Request(frame, fields, message, f60)), valid=True)
        finally:
            self.ctx.observer.observe_request(kind, self.ctx.clock.monotonic() - start)

    async def _answer(self, req: Request) -> bytes | None:
        kind = req.kind
        try:
            state, reply = await self._decide(req, cached=kind is MessageKind.SALE)
            sign_on = state is not None and state.needs_signon and kind is not MessageKind.SIGN_ON
        except Exception:
            log.exception("request failed", tid=req.tid, stan=req.stan, kind=kind.value)
            reply, sign_on = Reply("96"), False
        finally:
            if kind is not MessageKind.SALE:
                # Anything but a sale may change what a sale relies on (protocol state, keys,
                # batch): the terminal's next sale reads the ledger again.
                self.ctx.terminals.drop(req.tid)
        return encode_reply(req, reply, sign_on=sign_on)

    async def _decide(self, req: Request, *, cached: bool) -> tuple[TerminalState | None, Reply]:
        """The reply, decided on the cached state (sales) where it may be, else the ledger's."""
        from_cache = cached and self.ctx.terminals.get(req.tid) is not None
        stale = False
        try:
            state, reply = await self._admit(req, cached=cached)
            if reply is None:
                assert state is not None
                reply = await HANDLERS[req.kind](self.ctx, req, state)
        except StaleTerminalState:
            # Decided on a state another request or process has since changed: nothing was
            # booked (the issuer's approval is reversed); decide again on the ledger's state.
            stale, reply = True, Reply("96")
        if stale or (from_cache and reply.code in _STATE_REFUSALS):
            # A refusal the cached state alone caused is confirmed by the ledger first.
            self.ctx.terminals.drop(req.tid)
            state, reply = await self._admit(req, cached=False)
            if reply is None:
                assert state is not None
                reply = await HANDLERS[req.kind](self.ctx, req, state)
        return state, reply

    async def _load(self, tid: str) -> TerminalState | None:
        db = self.ctx.db
        return await db.lookup(lambda c: load_terminal(c, db.vault, tid))

    async def _admit(
        self, req: Request, *, cached: bool
    ) -> tuple[TerminalState | None, Reply | None]:
        """The terminal's state and, if the request is refused before any handler, the reply."""
        state = self.ctx.terminals.get(req.tid) if cached else None
        if state is not None and req.maced and state.mak is not None and state.signed_on:
            if mac_ok(req, state.mak):
                return state, await self._authenticate(req, state, mac_verified=True)
            # The cached keys may be an older generation (a sign-on on another host process):
            # only the ledger's keys may refuse a MAC.
            self.ctx.terminals.drop(req.tid)
            state = None
        if state is None:
            state = await self._load(req.tid)
            if cached and state is not None:
                self.ctx.terminals.put(state)
        return state, await self._authenticate(req, state)

    async def _authenticate(
        self, req: Request, state: TerminalState | None, *, mac_verified: bool = False
    ) -> Reply | None:
        """97 / 03 / 22 / A0 refusals that come before any handler (protocol §6, §7)."""
        # Nothing was authenticated yet: anyone can provoke these, so their log lines are
        # budgeted (a flood of unknown TIDs must not fill the disk with the log).
        if state is None or not state.active:
            held = self.ctx.refusal_log.take("97")
            if held is not None:
                log.warning("unknown or disabled terminal", tid=req.tid, not_logged_before=held)
            return Reply("97")
        if state.mid != req.mid or not state.merchant_active:
            held = self.ctx.refusal_log.take("03")
            if held is not None:
                log.warning(
                    "merchant mismatch or disabled",
                    tid=req.tid,
                    mid=req.mid,
                    not_logged_before=held,
                )
            return Reply("03")
        if not req.maced:
            return None
        # A settlement without a MAC only by the host's policy, and less safe: anyone who knows
        # a TID and MID can then close that terminal's batch (docs/protocol.md).
        unmaced = req.settlement and "64" not in req.fields
        if unmaced and await self.ctx.policy.settlement_mac() is SettlementMac.OPTIONAL:
            return None
        if state.mak is None or not state.signed_on:
            return Reply("22", sign_on=True)
        if not mac_verified and not mac_ok(req, state.mak):
            self.ctx.terminals.drop(req.tid)
            # Counted, not a row each: anyone can send a bad MAC under a known TID. The
            # state was just read from the ledger; once it asks for a sign-on, a flood of
            # bad MACs writes nothing more.
            detail = json.dumps({"mti": req.mti, "stan": req.stan})
            if self.ctx.bad_frames.add(BadFrameKind.MAC_ERROR, req.tid, "A0", detail):
                log.warning("MAC error", tid=req.tid, stan=req.stan, mti=req.mti)
            if not state.needs_signon:
                # The first bad MAC since a sign-on changes the terminal's state: that write is
                # due anyway, and the doctor (often run right after the A0) must see this one.
                await self.ctx.db.write(lambda c: mark_needs_signon(c, req.tid))
                await self.ctx.bad_frames.flush()
            else:
                await self.ctx.bad_frames.settle()
            return Reply("A0", sign_on=True)
        return None

    async def _format_error(self, frame: Frame, exc: DecodeError) -> bytes | None:
        safe = masked(exc.partial)
        tid = exc.partial.get("41")
        detail = json.dumps({"error": str(exc), "partial": safe}, sort_keys=True)
        if len(detail) > MAX_DETAIL:  # a sample row stays small whatever the frame held
            detail = json.dumps({"error": str(exc)[:200], "fields": sorted(safe)})
        named = tid if isinstance(tid, str) else None
        if self.ctx.bad_frames.add(BadFrameKind.FORMAT_ERROR, named, "30", detail):
            log.warning("format error", error=str(exc), field=exc.field, pos=exc.pos, partial=safe)
        await self.ctx.bad_frames.settle()
        return encode_error_reply(frame, exc.partial, "30")

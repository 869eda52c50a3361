"""The host's request pipeline: decode, identify, authenticate, dispatch, encode.

It takes one frame and returns the reply bytes (or ``None`` when the frame cannot be
answered and the connection should close). Sockets live in :mod:`possettle.host.server`.
"""

from __future__ import annotations

import json

import structlog
from sqlalchemy.engine import Connection

from possettle.host.context import HostContext
from possettle.host.handlers.dispatch import HANDLERS
from possettle.host.ledger.terminal_state import (
    TerminalState,
    load_terminal,
    mark_needs_signon,
    record_event,
)
from possettle.host.request import Reply, Request, encode_error_reply, encode_reply, mac_ok
from possettle.iso8583 import codec
from possettle.iso8583.errors import DecodeError
from possettle.iso8583.fields import Field60
from possettle.iso8583.framing import Frame
from possettle.iso8583.mask import masked
from possettle.iso8583.messages import MessageKind, classify

log = structlog.get_logger("possettle.host")


class HostService:
    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx

    async def handle(self, frame: Frame) -> bytes | None:
        try:
            fields = codec.decode(frame.body)
            kind = classify(fields)
            f60 = Field60.parse(fields["60"])
        except DecodeError as exc:
            return await self._format_error(frame, exc)
        req = Request(frame, fields, kind, f60)
        state = await self.ctx.db.read(lambda c: load_terminal(c, self.ctx.db.vault, req.tid))
        reply = await self._authenticate(req, state)
        if reply is None:
            assert state is not None
            try:
                reply = await HANDLERS[kind](self.ctx, req, state)
            except Exception:
                log.exception("request failed", tid=req.tid, stan=req.stan, kind=kind.value)
                reply = Reply("96")
        sign_on = state is not None and state.needs_signon and kind is not MessageKind.SIGN_ON
        return encode_reply(req, reply, sign_on=sign_on)

    async def _authenticate(self, req: Request, state: TerminalState | None) -> Reply | None:
        """97 / 03 / 22 / A0 refusals that come before any handler (protocol §6, §7)."""
        if state is None or not state.active:
            log.warning("unknown or disabled terminal", tid=req.tid)
            return Reply("97")
        if state.mid != req.mid or not state.merchant_active:
            log.warning("merchant mismatch or disabled", tid=req.tid, mid=req.mid)
            return Reply("03")
        if not req.maced:
            return None
        if state.mak is None or not state.signed_on:
            return Reply("22", sign_on=True)
        if not mac_ok(req, state.mak):
            now = self.ctx.clock.now()
            log.warning("MAC error", tid=req.tid, stan=req.stan, mti=req.mti)

            def book(conn: Connection) -> None:
                mark_needs_signon(conn, req.tid)
                record_event(
                    conn,
                    now,
                    "mac_error",
                    tid=req.tid,
                    code="A0",
                    detail=json.dumps({"mti": req.mti, "stan": req.stan}),
                )

            await self.ctx.db.write(book)
            return Reply("A0", sign_on=True)
        return None

    async def _format_error(self, frame: Frame, exc: DecodeError) -> bytes | None:
        safe = masked(exc.partial)
        tid = exc.partial.get("41")
        log.warning("format error", error=str(exc), field=exc.field, pos=exc.pos, partial=safe)
        now = self.ctx.clock.now()
        detail = json.dumps({"error": str(exc), "partial": safe}, sort_keys=True)
        await self.ctx.db.write(
            lambda c: record_event(c, now, "format_error", tid=tid, code="30", detail=detail)
        )
        return encode_error_reply(frame, exc.partial, "30")

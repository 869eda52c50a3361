"""Shared steps of the financial handlers: exactly-once replay, issuer calls, reply fields.

Asking the issuer (:func:`ask_issuer`) writes the request's intent first; the handler's own
commit then settles it (:meth:`~possettle.host.reversals.intent.AskedIssuer.settle`, done by
:func:`finish_once` or by the handler's ``book``): a pending upstream reversal whenever the
answer was none or an approval the host did not book.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.engine import Connection

from possettle.cards import CardOrg, card_org, expiry_from_track2, pan_from_track2
from possettle.host.context import HostContext
from possettle.host.request import Reply, Request, host_time_fields
from possettle.host.reversals.intent import AskedIssuer
from possettle.iso8583.fields import Field44
from possettle.ledger.idempotency import RequestKey, StoredRequest, find_request, store_request
from possettle.ledger.terminal_state import TerminalState
from possettle.money import Money
from possettle.upstream.connector import AuthKind, AuthRequest, AuthResult
from possettle.upstream.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable

log = structlog.get_logger("possettle.host")


def request_key(req: Request) -> RequestKey:
    return RequestKey(req.tid, req.batch, req.stan, req.mti)


def replay(stored: StoredRequest, digest: str, state: TerminalState) -> Reply:
    """The stored answer to a repeat, or ``94`` when the same key carries other content."""
    if stored.digest != digest:
        return Reply("94")
    reply = Reply.from_stored(stored.reply)
    reply.mak = state.mak
    return reply


@dataclass(frozen=True, slots=True)
class Card:
    pan: str
    expiry: str | None
    track2: str | None
    org: CardOrg


def card_of(req: Request) -> Card | None:
    f = req.fields
    if "2" in f:
        return Card(f["2"], f.get("14"), None, card_org(f["2"]))
    if "35" in f:
        pan = pan_from_track2(f["35"])
        return Card(pan, f.get("14") or expiry_from_track2(f["35"]), f["35"], card_org(pan))
    return None


def base_reply_fields(ctx: HostContext, now: datetime, rrn: str) -> dict[str, str]:
    out = host_time_fields(now)
    out["15"] = out["13"]  # the settlement date: the host date, as in field 13
    out["32"] = ctx.config.acquirer_id
    out["37"] = rrn
    return out


def approved_fields(
    ctx: HostContext, now: datetime, rrn: str, auth_code: str | None, org: CardOrg
) -> dict[str, str]:
    out = base_reply_fields(ctx, now, rrn)
    if auth_code:
        out["38"] = auth_code
    out["44"] = str(Field44(ctx.config.issuer_id, ctx.config.acquirer_id))
    out["63"] = org.value
    return out


async def ask_issuer(ctx: HostContext, auth: AuthRequest) -> AskedIssuer:
    """The issuer's answer, with connector failures turned into ``98`` / ``91`` / ``96``.

    The intent is committed before the request leaves, so a host killed while it waits
    leaves a row another process (or this one, restarted) turns into a reversal.
    """
    new = await ctx.reversals.begin(auth)
    start = ctx.clock.monotonic()
    in_doubt = False
    try:
        result = await ctx.issuer.authorize(auth, ctx.config.issuer_timeout)
    except UpstreamTimeout as exc:
        log.warning("issuer timeout", tid=auth.tid, stan=auth.stan, rrn=auth.rrn)
        result, in_doubt = AuthResult("98"), exc.in_doubt
        if in_doubt:
            ctx.crash.hit("upstream.timed_out")
    except UpstreamUnavailable as exc:
        log.warning("issuer unavailable", tid=auth.tid, stan=auth.stan, rrn=auth.rrn)
        result, in_doubt = AuthResult("91"), exc.in_doubt
    except UpstreamError as exc:
        log.error("issuer error", tid=auth.tid, stan=auth.stan, error=str(exc))
        result, in_doubt = AuthResult("96"), exc.in_doubt
    finally:
        ctx.observer.observe_upstream(ctx.issuer.name, ctx.clock.monotonic() - start)
    return ctx.reversals.asked(result, in_doubt, new)


#: field 39 of the reversal of an approval whose booking failed
BOOKING_FAILED_REASON = "96"


async def rescue_reversal(ctx: HostContext, asked: AskedIssuer) -> None:
    """The handler's commit failed: store the reversal the request needs on its own; never
    raises (a ledger that refuses it too keeps it in memory, loudly)."""
    if asked.in_doubt:
        reason = asked.reversal_reason(None)
    elif asked.result.approved:
        reason = BOOKING_FAILED_REASON
    else:
        return  # declined: nothing to undo (its intent lapses into a harmless reversal)
    if reason is not None:
        await ctx.reversals.rescue(asked, reason)


async def earlier_reply(
    ctx: HostContext, req: Request, state: TerminalState
) -> tuple[RequestKey, str, Reply | None]:
    """The request's key and digest, and the stored answer if this is a repeat."""
    key = request_key(req)
    digest = ctx.digest(req.fields)
    stored = await ctx.db.lookup(lambda c: find_request(c, key))
    return key, digest, None if stored is None else replay(stored, digest, state)


WriteResult = tuple[bool, Reply]


def finish_once(
    conn: Connection,
    key: RequestKey,
    digest: str,
    state: TerminalState,
    now: datetime,
    book: Callable[[Connection], Reply],
    asked: AskedIssuer | None = None,
) -> WriteResult:
    """Inside the writer: replay a repeat that raced us, else book and store the reply.

    Returns ``(booked, reply)``; ``booked`` is False when an earlier copy of the request won
    (its stored reply is returned and nothing is written). ``asked`` is settled in the same
    transaction either way.
    """
    again = find_request(conn, key)
    if again is not None:
        if asked is not None:
            asked.settle(conn, None)
        return False, replay(again, digest, state)
    reply = book(conn)
    store_request(conn, key, digest, reply.code, reply.stored(), now)
    if asked is not None:
        asked.settle(conn, reply.code)
    return True, reply


def auth_request(
    req: Request,
    state: TerminalState,
    card: Card,
    kind: AuthKind,
    amount: int,
    rrn: str,
    now: datetime,
    **extra: object,
) -> AuthRequest:
    """The issuer request for a terminal request (PIN block and original reference in ``extra``)."""
    return AuthRequest(
        kind=kind,
        pan=card.pan,
        expiry=card.expiry,
        amount=Money(amount, req.fields.get("49", "156")),
        stan=req.stan,
        rrn=rrn,
        tid=req.tid,
        mid=state.mid,
        local_time=now,
        track2=card.track2,
        entry_mode=req.fields.get("22", "012"),
        **extra,  # type: ignore[arg-type]
    )

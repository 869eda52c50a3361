"""0220 refund and offline-sale advice (protocol §3 and §5)."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from possettle.host.context import HostContext
from possettle.host.handlers.common import (
    approved_fields,
    ask_issuer,
    auth_request,
    base_reply_fields,
    card_of,
    earlier_reply,
    finish_once,
    log,
    replay,
    request_key,
    rescue_reversal,
)
from possettle.host.handlers.purchase import amount_of, batch_open, new_entry
from possettle.host.request import Reply, Request
from possettle.ledger.batches import ensure_batch
from possettle.ledger.idempotency import StoredRequest, find_request
from possettle.ledger.kinds import EntryKind
from possettle.ledger.postings import Entry, find_by_rrn, post
from possettle.ledger.terminal_state import TerminalState, record_event, touch
from possettle.money import Money
from possettle.upstream.connector import AuthKind

_REFUNDABLE = (EntryKind.SALE, EntryKind.OFFLINE)


def _refund_refusal(original: Entry | None, state: TerminalState, amount: int) -> Reply | None:
    if amount <= 0:
        return Reply("13")
    if original is None or original.mid != state.mid or original.reversed:
        return Reply("25")
    if original.voided:
        return Reply("12")
    if original.refunded_amount + amount > original.amount:
        return Reply("13")  # refunds may not exceed what was paid
    return None


async def refund(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    card = card_of(req)
    amount = amount_of(req)
    if card is None or amount is None or "37" not in req.fields or "61" not in req.fields:
        return Reply("30")
    if not batch_open(req, state):
        return Reply("77", sign_on=True)
    key = request_key(req)
    digest = ctx.digest(req.fields)
    orig_rrn = req.fields["37"]

    def read(conn: Connection) -> tuple[StoredRequest | None, Entry | None]:
        return find_request(conn, key), find_by_rrn(conn, orig_rrn, _REFUNDABLE)

    stored, original = await ctx.db.lookup(read)
    if stored is not None:
        return replay(stored, digest, state)
    now = ctx.clock.now()
    rrn = await ctx.rrns.next()
    refusal = _refund_refusal(original, state, amount)
    if refusal is not None:
        refusal.fields.update(base_reply_fields(ctx, now, rrn))
        _, reply = await ctx.db.write(
            lambda c: finish_once(c, key, digest, state, now, lambda _c: refusal)
        )
        return reply
    assert original is not None
    auth = auth_request(
        req,
        state,
        card,
        AuthKind.REFUND,
        amount,
        rrn,
        now,
        original_rrn=orig_rrn,
        original_amount=Money(original.amount),
    )
    asked = await ask_issuer(ctx, auth)
    result = asked.result
    pan_hash = ctx.db.vault.pan_hash(card.pan)

    def book(conn: Connection) -> Reply:
        if not result.approved:
            return Reply(result.response_code, base_reply_fields(ctx, now, rrn))
        if not asked.still_ours(conn):
            # another host process took the request over as unanswered: it reverses it
            return Reply("98", base_reply_fields(ctx, now, rrn))
        current = find_by_rrn(conn, orig_rrn, _REFUNDABLE)
        again = _refund_refusal(current, state, amount)
        if again is not None:
            again.fields.update(base_reply_fields(ctx, now, rrn))
            return again
        if not state.batch_exists:
            ensure_batch(conn, req.tid, req.batch, state.mid, now)
        post(
            conn,
            new_entry(
                req,
                state,
                EntryKind.REFUND,
                card,
                amount,
                rrn,
                result.auth_code,
                now,
                pan_hash,
                current,
                day=ctx.config.business_day,
            ),
        )
        touch(conn, req.tid, now)
        return Reply(
            "00", approved_fields(ctx, now, rrn, result.auth_code, card.org), mak=state.mak
        )

    try:
        booked, final = await ctx.db.write(
            lambda c: finish_once(c, key, digest, state, now, book, asked)
        )
    except Exception:
        await rescue_reversal(ctx, asked)
        raise
    ctx.reversals.stored(asked, final.code if booked else None)
    return final


async def offline(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    """An offline-approved sale: the terminal already gave the goods, so the host books it.

    The issuer is told (force post); if it refuses, the advice is still booked (the terminal
    and the merchant hold it) and a host event records the refusal for reconciliation.
    """
    card = card_of(req)
    amount = amount_of(req)
    if card is None or not amount or "38" not in req.fields:
        return Reply("30")
    if not batch_open(req, state):
        return Reply("77", sign_on=True)
    key, digest, earlier = await earlier_reply(ctx, req, state)
    if earlier is not None:
        return earlier
    now = ctx.clock.now()
    rrn = await ctx.rrns.next()
    auth_code = req.fields["38"].strip()
    auth = auth_request(req, state, card, AuthKind.OFFLINE, amount, rrn, now)
    asked = await ask_issuer(ctx, auth)
    result = asked.result
    if not result.approved:
        log.warning(
            "offline advice refused by issuer",
            tid=req.tid,
            stan=req.stan,
            code=result.response_code,
        )
    pan_hash = ctx.db.vault.pan_hash(card.pan)

    def book(conn: Connection) -> Reply:
        if not state.batch_exists:
            ensure_batch(conn, req.tid, req.batch, state.mid, now)
        post(
            conn,
            new_entry(
                req,
                state,
                EntryKind.OFFLINE,
                card,
                amount,
                rrn,
                auth_code,
                now,
                pan_hash,
                day=ctx.config.business_day,
            ),
        )
        if not result.approved:
            record_event(
                conn,
                now,
                "offline_refused_by_issuer",
                tid=req.tid,
                code=result.response_code,
                detail=f'{{"stan": "{req.stan}"}}',
            )
        touch(conn, req.tid, now)
        return Reply("00", approved_fields(ctx, now, rrn, auth_code, card.org), mak=state.mak)

    try:
        booked, final = await ctx.db.write(
            lambda c: finish_once(c, key, digest, state, now, book, asked)
        )
    except Exception:
        await rescue_reversal(ctx, asked)
        raise
    ctx.reversals.stored(asked, final.code if booked else None)
    return final

"""0400 reversal: applied at most once; before its original it makes the original decline.

A reversal keeps the original's STAN and 60.1 (protocol §3, §5). ``00`` and ``25`` both
tell the terminal it is done.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from possettle.cards import mask_pan
from possettle.host.context import HostContext
from possettle.host.handlers.common import (
    base_reply_fields,
    card_of,
    earlier_reply,
    finish_once,
)
from possettle.host.request import Reply, Request
from possettle.host.reversals.store import NewReversal, ensure_pending
from possettle.iso8583.fields import TxnType
from possettle.ledger.kinds import EntryKind
from possettle.ledger.postings import Entry, NewEntry, find_entry, post_reversal
from possettle.ledger.terminal_state import TerminalState, touch
from possettle.money import Money
from possettle.upstream.connector import AuthKind, AuthRequest

_ORIGINAL_KIND = {
    TxnType.SALE: (EntryKind.SALE, AuthKind.SALE),
    TxnType.VOID: (EntryKind.VOID, AuthKind.VOID),
    TxnType.REFUND: (EntryKind.REFUND, AuthKind.REFUND),
    TxnType.OFFLINE: (EntryKind.OFFLINE, AuthKind.OFFLINE),
}


async def reversal(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    card = card_of(req)
    kinds = _ORIGINAL_KIND.get(req.f60.txn_type)
    if card is None or kinds is None or "4" not in req.fields:
        return Reply("30")
    entry_kind, auth_kind = kinds
    key, digest, earlier = await earlier_reply(ctx, req, state)
    if earlier is not None:
        return earlier
    now = ctx.clock.now()
    rrn = await ctx.rrns.next()
    applied: list[Entry] = []

    def book(conn: Connection) -> Reply:
        fields = base_reply_fields(ctx, now, rrn)
        orig = find_entry(conn, req.tid, req.batch, req.stan, (entry_kind,))
        if orig is None:
            # Recorded (by finish_once) so that the original, if it comes later, declines.
            return Reply("25", fields)
        if orig.reversed or orig.voided or int(req.fields["4"]) != orig.amount:
            return Reply("12", fields)
        if req.batch != state.current_batch:
            return Reply("25", fields)  # its batch is settled: reconciliation handles it
        post_reversal(
            conn,
            orig,
            NewEntry(
                tid=req.tid,
                mid=state.mid,
                batch=req.batch,
                stan=req.stan,
                kind=EntryKind.REVERSAL,
                amount=orig.amount,
                currency=req.fields.get("49", "156"),
                domestic=orig.domestic,
                pan_hash=orig.pan_hash,
                pan_masked=mask_pan(card.pan),
                rrn=orig.rrn,
                auth_code=orig.auth_code,
                card_org=orig.card_org,
                host_date=now.date(),
                created_at=now,
                clearing_date=ctx.config.business_day.clearing_date(now),
                orig_entry_id=orig.id,
            ),
        )
        touch(conn, req.tid, now)
        # The issuer approved the original: it is told in the same commit that books the
        # reversal, and the host's sender repeats the 0400 until it is acknowledged.
        auth = AuthRequest(
            kind=auth_kind,
            pan=card.pan,
            expiry=card.expiry,
            amount=Money(orig.amount),
            stan=req.stan,
            rrn=orig.rrn,
            tid=req.tid,
            mid=state.mid,
            local_time=now,
        )
        upstream = NewReversal(auth, ctx.issuer.describe(auth), ctx.issuer.name)
        reason = req.fields.get("39", "98")
        ensure_pending(conn, ctx.db.vault, upstream, reason, now, orig.auth_code)
        applied.append(orig)
        return Reply("00", fields, mak=state.mak)

    _, final = await ctx.db.write(lambda c: finish_once(c, key, digest, state, now, book))
    if applied:
        ctx.reversals.wake()
    return final

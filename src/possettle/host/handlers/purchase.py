"""0200 sale and void (protocol §3), exactly once, with the issuer asked at most once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from possettle.cards import mask_pan
from possettle.crypto.errors import PinBlockError
from possettle.host.context import HostContext
from possettle.host.errors import StaleTerminalState
from possettle.host.handlers.common import (
    Card,
    WriteResult,
    approved_fields,
    ask_issuer,
    auth_request,
    base_reply_fields,
    card_of,
    finish_once,
    replay,
    request_key,
    rescue_reversal,
)
from possettle.host.handlers.pinblock import upstream_pin_block
from possettle.host.request import Reply, Request
from possettle.iso8583.errors import DecodeError
from possettle.iso8583.fields import Field61
from possettle.ledger.batches import ensure_batch
from possettle.ledger.business_day import BusinessDay
from possettle.ledger.idempotency import (
    StoredRequest,
    find_requests,
    store_request,
)
from possettle.ledger.kinds import BatchStatus, EntryKind
from possettle.ledger.postings import Entry, NewEntry, find_entry, post
from possettle.ledger.terminal_state import TerminalState, touch_if_current
from possettle.money import Money
from possettle.upstream.connector import AuthKind, AuthResult

#: a reversal carries the original STAN, so it shares the original's key but this MTI
REVERSAL_MTI = "0400"


def batch_open(req: Request, state: TerminalState) -> bool:
    """Financial work goes only into the batch the host expects, while it is open."""
    return req.batch == state.current_batch and state.batch_status is BatchStatus.OPEN


def amount_of(req: Request) -> int | None:
    value = req.fields.get("4")
    if value is None:
        return None
    amount = int(value)
    return amount if amount > 0 else 0


def new_entry(
    req: Request,
    state: TerminalState,
    kind: EntryKind,
    card: Card,
    amount: int,
    rrn: str,
    auth_code: str | None,
    now: datetime,
    pan_hash: str,
    orig: Entry | None = None,
    *,
    day: BusinessDay,
) -> NewEntry:
    """The entry for ``req`` booked at ``now``; its clearing date is ``day``'s (日切)."""
    return NewEntry(
        tid=req.tid,
        mid=state.mid,
        batch=req.batch,
        stan=req.stan,
        kind=kind,
        amount=amount,
        currency=req.fields.get("49", "156"),
        domestic=card.org.domestic if orig is None else orig.domestic,
        pan_hash=pan_hash,
        pan_masked=mask_pan(card.pan),
        rrn=rrn,
        auth_code=auth_code,
        card_org=card.org.value if orig is None else orig.card_org,
        host_date=now.date(),
        created_at=now,
        clearing_date=day.clearing_date(now),
        orig_entry_id=None if orig is None else orig.id,
    )


async def _lookup(
    ctx: HostContext, req: Request, orig: Field61 | None
) -> tuple[StoredRequest | None, StoredRequest | None, Entry | None]:
    """Before the issuer: a repeat of this request, a reversal that came first, the original."""

    def read(conn: Connection) -> tuple[StoredRequest | None, StoredRequest | None, Entry | None]:
        original = (
            find_entry(conn, req.tid, orig.batch, f"{orig.stan:06d}", (EntryKind.SALE,))
            if orig is not None
            else None
        )
        found = find_requests(conn, req.tid, req.batch, req.stan, (req.mti, REVERSAL_MTI))
        return found.get(req.mti), found.get(REVERSAL_MTI), original

    return await ctx.db.lookup(read)


async def sale(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    return await _purchase(ctx, req, state, void=False)


async def void(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    return await _purchase(ctx, req, state, void=True)


async def _purchase(ctx: HostContext, req: Request, state: TerminalState, *, void: bool) -> Reply:
    card = card_of(req)
    amount = amount_of(req)
    if card is None or amount is None or "11" not in req.fields:
        return Reply("30")
    orig_ref: Field61 | None = None
    if void:
        if "61" not in req.fields:
            return Reply("30")
        try:
            orig_ref = Field61.parse(req.fields["61"])
        except DecodeError:
            return Reply("30")
    if not batch_open(req, state):
        return Reply("77", sign_on=True)
    key = request_key(req)
    digest = ctx.digest(req.fields)
    stored, reversed_first, original = await _lookup(ctx, req, orig_ref)
    if stored is not None:
        return replay(stored, digest, state)
    now = ctx.clock.now()
    pan_hash = ctx.db.vault.pan_hash(card.pan)

    early = _precheck(amount, reversed_first is not None, void, original, state, pan_hash)
    pin_block: bytes | None = None
    if early is None:
        try:
            pin_block = upstream_pin_block(req, state, card.pan, ctx.issuer.zpk)
        except PinBlockError:
            early = Reply("55")  # not a PIN under the PIK we issued: wrong PIN, issuer not asked
    if early is not None:
        early.fields.update(base_reply_fields(ctx, now, await ctx.rrns.next()))
        _, reply = await ctx.db.write(
            lambda c: finish_once(c, key, digest, state, now, lambda _c: early)
        )
        return reply

    rrn = await ctx.rrns.next()
    auth = auth_request(
        req,
        state,
        card,
        AuthKind.VOID if void else AuthKind.SALE,
        amount,
        rrn,
        now,
        pin_block=pin_block,
        original_rrn=original.rrn if original is not None else None,
        original_amount=Money(original.amount) if original is not None else None,
    )
    asked = await ask_issuer(ctx, auth)
    result = asked.result
    reply = _issuer_reply(ctx, now, rrn, result, card, state)

    def book(conn: Connection) -> WriteResult:
        # One trip, one transaction: the exactly-once check, the state check, the booking and
        # the upstream reversal if one is owed.
        found = find_requests(conn, req.tid, req.batch, req.stan, (req.mti, REVERSAL_MTI))
        again = found.get(req.mti)
        if again is not None:
            asked.settle(conn, None)
            return False, replay(again, digest, state)  # an earlier copy of this request won
        if not touch_if_current(conn, state, now):
            raise StaleTerminalState(f"terminal {req.tid} changed while STAN {req.stan} ran")
        final = reply
        if REVERSAL_MTI in found:
            # The terminal reversed this request while we were asking the issuer.
            final = Reply("12", base_reply_fields(ctx, now, rrn))
        elif result.approved and not asked.still_ours(conn):
            # This host was too slow: another process has taken the request over as
            # unanswered and reverses it. Book nothing; to the terminal it got no answer.
            final = Reply("98", base_reply_fields(ctx, now, rrn))
        elif result.approved:
            orig_now = None
            if orig_ref is not None:
                orig_now = find_entry(
                    conn, req.tid, orig_ref.batch, f"{orig_ref.stan:06d}", (EntryKind.SALE,)
                )
            if orig_ref is not None and (orig_now is None or not orig_now.live):
                final = Reply("12", base_reply_fields(ctx, now, rrn))
            else:
                if not state.batch_exists:
                    ensure_batch(conn, req.tid, req.batch, state.mid, now)
                kind = EntryKind.VOID if void else EntryKind.SALE
                entry = new_entry(
                    req,
                    state,
                    kind,
                    card,
                    amount,
                    rrn,
                    result.auth_code,
                    now,
                    pan_hash,
                    orig_now,
                    day=ctx.config.business_day,
                )
                post(conn, entry)
        store_request(conn, key, digest, final.code, final.stored(), now)
        asked.settle(conn, final.code)
        return True, final

    try:
        booked, final = await ctx.db.write(book)
    except Exception:
        await rescue_reversal(ctx, asked)
        raise
    ctx.reversals.stored(asked, final.code if booked else None)
    if booked and not state.batch_exists:
        ctx.terminals.drop(req.tid)  # the batch row exists now: the next sale reads it
    elif booked and not void:
        # touch_if_current just proved the state current as of this commit: keep it longer
        ctx.terminals.refresh(state)
    return final


def _precheck(
    amount: int,
    reversed_first: bool,
    void: bool,
    original: Entry | None,
    state: TerminalState,
    pan_hash: str,
) -> Reply | None:
    """Refusals the host decides alone (stored, so a repeat gets the same answer)."""
    if reversed_first:
        return Reply("12")  # a reversal arrived before its original (protocol §5)
    if amount <= 0:
        return Reply("13")
    if not void:
        return None
    if original is None or original.mid != state.mid or original.reversed:
        return Reply("25")
    if original.voided or original.pan_hash != pan_hash:
        return Reply("12")
    if amount != original.amount:
        return Reply("13")
    return None


def _issuer_reply(
    ctx: HostContext,
    now: datetime,
    rrn: str,
    result: AuthResult,
    card: Card,
    state: TerminalState,
) -> Reply:
    if result.approved:
        return Reply(
            "00", approved_fields(ctx, now, rrn, result.auth_code, card.org), mak=state.mak
        )
    return Reply(result.response_code, base_reply_fields(ctx, now, rrn))

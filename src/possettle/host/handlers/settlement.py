"""0500 settlement, 0320 batch upload and upload end (protocol §4)."""

from __future__ import annotations

import json

from sqlalchemy.engine import Connection

from possettle.cards import mask_pan
from possettle.host.context import HostContext
from possettle.host.handlers.common import (
    base_reply_fields,
    earlier_reply,
    finish_once,
)
from possettle.host.request import Reply, Request
from possettle.iso8583.errors import DecodeError
from possettle.iso8583.fields import (
    HalfTotals,
    NetworkCode,
    SettlementTotals,
    SettleResult,
    format_upload_count,
    parse_upload_count,
    parse_upload_records,
)
from possettle.ledger.batches import (
    UploadedItem,
    begin_settlement,
    close_batch,
    ensure_batch,
    get_batch,
    record_uploads,
)
from possettle.ledger.kinds import BatchStatus, EntryKind
from possettle.ledger.postings import find_entries
from possettle.ledger.queries import HalfSums, batch_sums
from possettle.ledger.terminal_state import TerminalState, record_event, touch

_UPLOADABLE = (EntryKind.SALE, EntryKind.OFFLINE, EntryKind.REFUND)


def _half(sums: HalfSums, theirs: HalfTotals) -> HalfTotals:
    ours = HalfTotals(sums.debit_amount, sums.debit_count, sums.credit_amount, sums.credit_count)
    result = SettleResult.BALANCED if ours.same_figures(theirs) else SettleResult.UNBALANCED
    return ours.with_result(result)


def _settled_on(recorded: str, theirs: SettlementTotals) -> SettlementTotals:
    """A 94's field 48: the totals the terminal settled this batch on, each half's result
    ``1`` where today's 0500 carries the same figures, else ``2`` — so the terminal can confirm
    the closed batch is the one it holds before it closes its own (causes.md,
    batch.already_settled; docs/protocol.md)."""
    then = SettlementTotals.parse(recorded)

    def half(old: HalfTotals, new: HalfTotals) -> HalfTotals:
        same = old.same_figures(new)
        return old.with_result(SettleResult.BALANCED if same else SettleResult.UNBALANCED)

    return SettlementTotals(
        half(then.domestic, theirs.domestic), half(then.foreign, theirs.foreign)
    )


async def settle(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    try:
        theirs = SettlementTotals.parse(req.fields.get("48", ""))
    except DecodeError:
        return Reply("30")
    key, digest, earlier = await earlier_reply(ctx, req, state)
    if earlier is not None:
        # The terminal sends a settlement again with the same STAN only when its last try
        # got no answer (the reply was lost, or the terminal restarted mid-settlement): the
        # one trace of that failed try the host can keep, for the console and the doctor.
        if earlier.code in ("00", "95"):
            detail = json.dumps({"batch": req.batch, "stan": req.stan})
            at = ctx.clock.now()
            await ctx.db.write(
                lambda c: record_event(c, at, "settle_repeated", tid=req.tid, detail=detail)
            )
        return earlier
    now = ctx.clock.now()
    rrn = await ctx.rrns.next()

    def book(conn: Connection) -> Reply:
        fields = base_reply_fields(ctx, now, rrn)
        batch = get_batch(conn, req.tid, req.batch)
        if batch is not None and batch.status is BatchStatus.CLOSED:
            if batch.terminal_totals:
                fields["48"] = str(_settled_on(batch.terminal_totals, theirs))
            return Reply("94", fields)
        if req.batch != state.current_batch:
            return Reply("77", fields, sign_on=True)
        sums = batch_sums(conn, req.tid, req.batch)
        ours = SettlementTotals(
            _half(sums.domestic, theirs.domestic), _half(sums.foreign, theirs.foreign)
        )
        if batch is None:
            ensure_batch(conn, req.tid, req.batch, state.mid, now)
        begin_settlement(
            conn,
            req.tid,
            req.batch,
            terminal_totals=str(theirs),
            host_totals=str(ours),
            results=(int(ours.domestic.result), int(ours.foreign.result)),
            at=now,
        )
        touch(conn, req.tid, now)
        fields["48"] = str(ours)
        return Reply("00", fields, mak=state.mak)

    _, final = await ctx.db.write(lambda c: finish_once(c, key, digest, state, now, book))
    return final


async def batch_upload(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    try:
        records = parse_upload_records(req.fields.get("48", ""))
    except DecodeError:
        return Reply("30")
    key, digest, earlier = await earlier_reply(ctx, req, state)
    if earlier is not None:
        return earlier
    now = ctx.clock.now()
    vault = ctx.db.vault
    items = [
        UploadedItem(
            stan=f"{r.stan:06d}",
            domestic=r.domestic,
            pan_hash=vault.pan_hash(r.pan),
            pan_masked=mask_pan(r.pan),
            pan_sealed=vault.seal(
                r.pan.encode(), f"upload:{req.tid}:{req.batch}:{r.stan:06d}".encode()
            ),
            amount=r.amount,
        )
        for r in records
    ]

    def book(conn: Connection) -> Reply:
        fields = base_reply_fields(ctx, now, "")
        del fields["37"]
        batch = get_batch(conn, req.tid, req.batch)
        if batch is None or batch.status is BatchStatus.OPEN:
            return Reply("12", fields)  # upload before the 0500: out of order
        if batch.status is BatchStatus.CLOSED:
            return Reply("94", fields)
        stans = [item.stan for item in items]
        matches = find_entries(conn, req.tid, req.batch, stans, _UPLOADABLE)
        record_uploads(conn, req.tid, req.batch, items, matches, now)
        return Reply("00", fields, mak=state.mak)

    _, final = await ctx.db.write(lambda c: finish_once(c, key, digest, state, now, book))
    return final


async def upload_end(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    try:
        count = parse_upload_count(req.fields.get("48", ""))
    except DecodeError:
        return Reply("30")
    uploaded = req.f60.network_code is NetworkCode.UPLOAD_END_UNBALANCED
    key, digest, earlier = await earlier_reply(ctx, req, state)
    if earlier is not None:
        return earlier
    now = ctx.clock.now()

    def book(conn: Connection) -> Reply:
        fields = base_reply_fields(ctx, now, "")
        del fields["37"]
        fields["48"] = format_upload_count(count)
        batch = get_batch(conn, req.tid, req.batch)
        if batch is None or batch.status is BatchStatus.OPEN:
            return Reply("12", fields)
        if batch.status is BatchStatus.CLOSED:
            return Reply("00", fields, mak=state.mak)  # already closed: no second effect
        close_batch(conn, req.tid, req.batch, state.mid, uploaded=uploaded, count=count, at=now)
        return Reply("00", fields, mak=state.mak)

    _, final = await ctx.db.write(lambda c: finish_once(c, key, digest, state, now, book))
    return final

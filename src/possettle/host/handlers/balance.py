"""0200 balance enquiry (余额查询: processing code ``310000``, 60.1 ``01``), possettle's
extension of protocol §3 (docs/protocol.md, "Balance enquiry").

The issuer is asked with :attr:`AuthKind.BALANCE`; an approval carries the balance in field
54 (:mod:`possettle.iso8583.amounts`). Nothing is booked and nothing needs reversing: the
enquiry moves no money, is in no batch and is not stored for replay (a repeat asks again).
The PIN block is translated to the issuer's key as for a sale; one the PIK cannot open is
answered ``55`` without asking the issuer.
"""

from __future__ import annotations

from possettle.crypto.errors import PinBlockError
from possettle.host.context import HostContext
from possettle.host.handlers.common import (
    approved_fields,
    ask_issuer,
    auth_request,
    base_reply_fields,
    card_of,
)
from possettle.host.handlers.pinblock import upstream_pin_block
from possettle.host.request import Reply, Request
from possettle.iso8583.amounts import AVAILABLE, AdditionalAmount
from possettle.ledger.terminal_state import TerminalState, touch
from possettle.upstream.connector import AuthKind

#: the issuer approved but said no balance: the host cannot answer the question
NO_BALANCE = "96"


async def balance(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    card = card_of(req)
    if card is None or "11" not in req.fields:
        return Reply("30")
    now = ctx.clock.now()
    await ctx.db.write(lambda c: touch(c, req.tid, now))
    rrn = await ctx.rrns.next()
    try:
        pin_block = upstream_pin_block(req, state, card.pan, ctx.issuer.zpk)
    except PinBlockError:
        return Reply("55", base_reply_fields(ctx, now, rrn))
    auth = auth_request(req, state, card, AuthKind.BALANCE, 0, rrn, now, pin_block=pin_block)
    result = (await ask_issuer(ctx, auth)).result
    if not result.approved:
        return Reply(result.response_code, base_reply_fields(ctx, now, rrn))
    if result.balance is None:
        return Reply(NO_BALANCE, base_reply_fields(ctx, now, rrn))
    fields = approved_fields(ctx, now, rrn, result.auth_code, card.org)
    currency = req.fields.get("49", "156")
    fields["54"] = str(AdditionalAmount(AVAILABLE, currency, result.balance))
    return Reply("00", fields, mak=state.mak)

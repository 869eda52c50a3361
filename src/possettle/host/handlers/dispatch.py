"""Which handler answers which message kind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from possettle.host.context import HostContext
from possettle.host.handlers import admin, advice, balance, purchase, reversal, settlement
from possettle.host.request import Reply, Request
from possettle.iso8583.classify import MessageKind
from possettle.ledger.terminal_state import TerminalState

Handler = Callable[[HostContext, Request, TerminalState], Awaitable[Reply]]


HANDLERS: dict[MessageKind, Handler] = {
    MessageKind.SIGN_ON: admin.sign_on,
    MessageKind.ECHO: admin.echo,
    MessageKind.SIGN_OFF: admin.sign_off_,
    MessageKind.STATUS_REPORT: admin.status_report,
    MessageKind.SALE: purchase.sale,
    MessageKind.VOID: purchase.void,
    MessageKind.REFUND: advice.refund,
    MessageKind.OFFLINE: advice.offline,
    MessageKind.REVERSAL: reversal.reversal,
    MessageKind.SETTLE: settlement.settle,
    MessageKind.BATCH_UPLOAD: settlement.batch_upload,
    MessageKind.UPLOAD_END: settlement.upload_end,
    # possettle's extension of §3 (docs/protocol.md, "Balance enquiry")
    MessageKind.BALANCE: balance.balance,
}

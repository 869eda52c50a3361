"""What the reply (or the silence) to a financial request means for the journal.

Protocol §5: before a 0200 leaves, a reversal with reason ``98`` is recorded; a valid reply
removes it, a reply with a bad MAC turns it into reason ``A0``, and silence keeps it. A 0220
(refund, offline advice) is not reversed: the host answers a repeat of the same
TID + batch + STAN with its stored reply, so it is repeated until acknowledged.

The shell hands each answer to :func:`outcome` and journals what it returns.

>>> outcome(TxnKind.SALE, Replied({"39": "51"})).state
<TxnState.DECLINED: 'declined'>
>>> from possettle.terminal.errors import ReplyTimeout
>>> outcome(TxnKind.SALE, Unanswered(ReplyTimeout("no reply within 10.0s"))).reversal
'98'
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.iso8583.codec import Fields
from possettle.iso8583.codes import ENDS_REVERSAL, HOST_HAS_IT, SIGN_ON_AGAIN
from possettle.terminal.journal.records import TxnKind, TxnState
from possettle.terminal.operations.answer import Answer, BadMac, NotSent, Replied, Unanswered

REVERSAL_NO_REPLY = "98"
REVERSAL_BAD_MAC = "A0"
# 0410 codes that end a reversal: done, or the host never saw the original (§5).
REVERSAL_FINAL = ENDS_REVERSAL
# Codes a 0230 may carry that still mean "the host has it".
ADVICE_ACCEPTED = HOST_HAS_IT
# "Sign on again" (§7): the host did not process the request; nothing was booked.
RESIGN_CODES = SIGN_ON_AGAIN


@dataclass(frozen=True, slots=True)
class Outcome:
    """The journal update one exchange leads to."""

    state: TxnState
    code: str = ""
    rrn: str | None = None
    auth_code: str | None = None
    reversal: str | None = None  # keep (or make) a pending reversal with this reason
    resign: bool = False  # the host asked for a fresh sign-on (header requirement 3)

    @property
    def approved(self) -> bool:
        return self.state is TxnState.APPROVED


def outcome(kind: TxnKind, answer: Answer) -> Outcome:
    """What the answer to a financial request (0200, 0220) means for its transaction."""
    match answer:
        case Replied(reply=reply, resign=resign):
            return on_reply(kind, reply, resign=resign)
        case BadMac():
            return on_bad_mac(kind)
        case Unanswered():
            return on_no_reply(kind)
        case NotSent():
            return on_not_sent(kind)


def on_reply(kind: TxnKind, reply: Fields, *, resign: bool) -> Outcome:
    code = reply.get("39", "")
    needs_signon = resign or code in RESIGN_CODES
    if kind is TxnKind.OFFLINE_SALE and code not in ADVICE_ACCEPTED:
        # The goods are gone: an advice is repeated until the host has it, never declined.
        return Outcome(TxnState.OFFLINE_PENDING, code, resign=needs_signon)
    if kind is TxnKind.REFUND and code in RESIGN_CODES:
        # Unprocessed; a repeat (after sign-on) gets the stored answer of an earlier copy.
        return Outcome(TxnState.PENDING, code, resign=True)
    approved = code == "00" or (kind is TxnKind.OFFLINE_SALE and code in ADVICE_ACCEPTED)
    state = TxnState.APPROVED if approved else TxnState.DECLINED
    return Outcome(
        state,
        code,
        rrn=reply.get("37") or None,
        auth_code=reply.get("38") or None,
        resign=needs_signon,
    )


def on_bad_mac(kind: TxnKind) -> Outcome:
    """An approval we cannot trust: reverse it (A0) and sign on again."""
    if kind.reversible:
        return Outcome(TxnState.PENDING, "A0", reversal=REVERSAL_BAD_MAC, resign=True)
    if kind is TxnKind.OFFLINE_SALE:
        return Outcome(TxnState.OFFLINE_PENDING, "A0", resign=True)
    return Outcome(TxnState.PENDING, "A0", resign=True)


def on_no_reply(kind: TxnKind) -> Outcome:
    """Sent, then silence or a dropped connection: the fate is unknown."""
    if kind.reversible:
        return Outcome(TxnState.PENDING, "", reversal=REVERSAL_NO_REPLY)
    return Outcome(
        TxnState.PENDING if kind is not TxnKind.OFFLINE_SALE else TxnState.OFFLINE_PENDING
    )


def on_not_sent(kind: TxnKind) -> Outcome:
    """The host could not be reached and nothing left: no reversal is needed."""
    if kind is TxnKind.OFFLINE_SALE:
        return Outcome(TxnState.OFFLINE_PENDING)
    if kind is TxnKind.REFUND:
        return Outcome(TxnState.PENDING)  # repeated until the host has it
    return Outcome(TxnState.FAILED)


def reversal_code(answer: Replied | Unanswered | BadMac) -> str:
    """The code a 0400's answer leaves on its reversal: the host's, ``A0`` for a reply whose
    MAC does not verify, empty for silence (the link is gone: the rest would time out too)."""
    match answer:
        case Replied():
            return answer.code
        case BadMac():
            return REVERSAL_BAD_MAC
        case Unanswered():
            return ""


def reversal_finished(code: str) -> bool:
    return code in REVERSAL_FINAL

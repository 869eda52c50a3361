"""What a handler holds while it asks the issuer, and how its commit settles it.

The handler's ledger commit that stores its answer to the terminal also settles the
request's intent (:meth:`AskedIssuer.settle`): deleted when the answer stands, a pending
reversal when the issuer gave no usable answer (``98`` / ``91`` / ``96`` in doubt) or
approved something the host did not book. So there is no moment where the terminal has
been answered and the reversal is not durable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from possettle.crypto.vault import Vault
from possettle.host.reversals.machine import NO_ANSWER_REASON
from possettle.host.reversals.store import (
    NewReversal,
    ensure_pending,
    settle_intent,
    take_intent,
)
from possettle.upstream.connector import AuthResult

#: field 39 of a reversal of an approval another copy of the same terminal request beat
DUPLICATE_REASON = "94"
#: field 39 of a reversal of an approval the host answered otherwise (e.g. reversed meanwhile)
NOT_BOOKED_REASON = "12"


@dataclass(frozen=True, slots=True)
class AskedIssuer:
    """The issuer's answer to one request, with the intent row written before it went out.

    ``in_doubt``: no usable answer although the request may have reached the issuer.
    ``new`` is None for a request that changes nothing at the issuer (a balance inquiry).
    """

    result: AuthResult
    in_doubt: bool
    new: NewReversal | None
    owner: str
    vault: Vault
    now: datetime

    @property
    def approved(self) -> bool:
        return self.result.approved and not self.in_doubt

    def reversal_reason(self, answer: str | None) -> str | None:
        """Field 39 of the reversal this request needs once the host answered ``answer``.

        ``answer`` None: the host stored no answer for it (an earlier copy won). None back:
        no reversal is needed.
        """
        if self.new is None:
            return None
        if self.in_doubt:
            return NO_ANSWER_REASON
        if not self.result.approved:
            return None
        if answer is None:
            return DUPLICATE_REASON
        return None if answer == "00" else NOT_BOOKED_REASON

    def still_ours(self, conn: Connection) -> bool:
        """Inside the commit, before booking an approval: no other process took it over.

        The intent is deleted here (the answer is about to be booked); should the answer
        change after all, :meth:`settle` stores the reversal afresh.
        """
        return self.new is None or take_intent(conn, self.new.rrn, self.owner)

    def settle(self, conn: Connection, answer: str | None) -> bool:
        """Inside the commit storing ``answer``: drop the intent or make it a reversal.

        Returns True when a pending reversal exists afterwards.
        """
        if self.new is None:
            return False
        reason = self.reversal_reason(answer)
        return settle_intent(
            conn, self.vault, self.new, self.owner, reason, self.now, self.result.auth_code
        )

    def reverse(self, conn: Connection, reason: str) -> None:
        """Make it a pending reversal with ``reason`` whatever the answer (own commit)."""
        if self.new is not None:
            ensure_pending(conn, self.vault, self.new, reason, self.now, self.result.auth_code)

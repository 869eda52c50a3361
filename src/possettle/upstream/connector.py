"""The one interface between the acquirer host and an issuer.

The host turns an approved-for-forwarding terminal request into an :class:`AuthRequest`,
hands it to an :class:`IssuerConnector` and maps the outcome to field 39 for the terminal:
an :class:`AuthResult` passes its response code through, :class:`UpstreamTimeout` becomes
``98`` and :class:`UpstreamUnavailable` becomes ``91``.

A PIN travels only as a block under the zone PIN key (ZPK) a connector shares with its issuer
(:attr:`IssuerConnector.zpk`): the host translates the terminal's field 52 from its PIK to that
key inside :mod:`possettle.crypto.pin`, as an HSM does, so no clear PIN exists outside it.

Reversals are the host's, not the connector's: before a financial request goes out the host
stores :meth:`IssuerConnector.describe` (a :class:`SentRequest`) in its ledger, and when the
answer was none or an approval it could not book, its durable sender hands that description
back as an :class:`UpstreamReversal` to :meth:`IssuerConnector.send_reversal`, once per
attempt, until the issuer acknowledges it. A connector keeps no reversal queue of its own.

This module holds the types only and imports no implementation: the simulator and the
ISO 8583 connector import it, and :mod:`~possettle.upstream.factory` builds either from a
spec.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from possettle.cards import mask_pan
from possettle.crypto.keys import Key
from possettle.money import Money


class AuthKind(StrEnum):
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    OFFLINE = "offline"
    BALANCE = "balance"


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """One request to the issuer; ``rrn`` identifies it for a later :meth:`reverse`.

    The PAN, PIN block and track 2 never appear in ``repr()``: the PAN is masked, the others
    are only shown as present or absent.
    """

    kind: AuthKind
    pan: str = field(repr=False)
    expiry: str | None  # YYMM
    amount: Money
    stan: str
    rrn: str
    tid: str
    mid: str
    local_time: datetime
    # The cardholder's PIN as an ISO 9564 format 0 block (8 bytes) under the connector's ZPK,
    # translated by the host from the terminal's field 52; None without a PIN or a ZPK.
    pin_block: bytes | None = field(default=None, repr=False)
    track2: str | None = field(default=None, repr=False)
    entry_mode: str = "012"
    original_rrn: str | None = None
    original_amount: Money | None = None

    def __repr__(self) -> str:
        return (
            f"AuthRequest(kind={self.kind.value!r}, pan={mask_pan(self.pan)!r}, "
            f"amount={self.amount!r}, stan={self.stan!r}, rrn={self.rrn!r}, tid={self.tid!r}, "
            f"mid={self.mid!r}, entry_mode={self.entry_mode!r}, "
            f"pin_block={'<set>' if self.pin_block is not None else None}, "
            f"track2={'<set>' if self.track2 is not None else None}, "
            f"original_rrn={self.original_rrn!r})"
        )


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The issuer's answer: field 39 and, when approved, field 38 — and for an approved
    balance enquiry the available balance in minor units (field 54), signed."""

    response_code: str
    auth_code: str | None = None
    issuer_id: str = "00010000"
    balance: int | None = None

    @property
    def approved(self) -> bool:
        return self.response_code == "00"


@dataclass(frozen=True, slots=True)
class SentRequest:
    """What a connector sends upstream for one request: enough to reverse it after a restart.

    ``message`` is the connector's own description of the request (for ISO 8583:1987 the
    fields of the 0200 as sent, without track 2 and PIN block, which may never be stored).
    It holds the PAN: the host keeps it only sealed, and ``repr()`` never shows it.
    """

    rrn: str
    message: Mapping[str, str] = field(repr=False)

    def to_bytes(self) -> bytes:
        """The canonical bytes the host seals in its ledger."""
        return json.dumps({"rrn": self.rrn, "message": dict(self.message)}, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> SentRequest:
        doc = json.loads(data)
        return cls(str(doc["rrn"]), {str(k): str(v) for k, v in doc["message"].items()})


@dataclass(frozen=True, slots=True)
class UpstreamReversal:
    """One reversal to send: the original as described, field 39's reason and its auth code."""

    original: SentRequest
    reason: str  # 98 no reply, 96 host failure, 12 / 94 approval not booked, A0 MAC, ...
    auth_code: str | None = None

    @property
    def rrn(self) -> str:
        return self.original.rrn


@dataclass(frozen=True, slots=True)
class LateReply:
    """A reply that arrived after its request had timed out (``0210``, ``0230`` or ``0410``).

    An approval here is exactly the one a reversal is for.
    """

    mti: str
    rrn: str
    result: AuthResult


LateReplyHandler = Callable[[LateReply], None]


class IssuerConnector(Protocol):
    """What the host needs from an issuer, whatever speaks to it."""

    name: str

    @property
    def zpk(self) -> Key | None:
        """The zone PIN key shared with the issuer: the host hands PIN blocks over under it.

        ``None`` when there is none: the issuer then gets no PIN block, and the host still
        answers ``55`` itself to a PIN block it cannot read.
        """
        ...

    async def start(self) -> None:
        """Acquire resources and start background work (e.g. a connection's reader)."""
        ...

    async def aclose(self) -> None:
        """Stop background work and release resources; pending requests fail as unavailable."""
        ...

    def describe(self, req: AuthRequest) -> SentRequest:
        """What :meth:`authorize` sends (or sent) for ``req``; no I/O, stable per ``rrn``."""
        ...

    # The budget is a parameter, not an asyncio.timeout() around the call, because a connector
    # must act on expiry itself (say what it sent) rather than just be cancelled.
    async def authorize(self, req: AuthRequest, timeout: float) -> AuthResult:  # noqa: ASYNC109
        """Ask the issuer; raises :class:`UpstreamTimeout` or :class:`UpstreamUnavailable`.

        Such an error's ``sent`` is the :class:`SentRequest` when the request may have reached
        the issuer (it is in doubt: the host must reverse it), ``None`` when it never left.
        """
        ...

    async def send_reversal(self, reversal: UpstreamReversal, timeout: float) -> AuthResult:  # noqa: ASYNC109
        """Send one reversal attempt and return the issuer's answer (field 39 of the 0410).

        Raises :class:`UpstreamTimeout`, :class:`UpstreamUnavailable` or
        :class:`UpstreamProtocolError` when there is no usable answer; never retries itself.
        """
        ...

    def set_late_reply_handler(self, handler: LateReplyHandler | None) -> None:
        """Hand replies that arrive after their request timed out to ``handler``."""
        ...

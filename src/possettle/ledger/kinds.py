"""The closed vocabularies of the ledger's status and kind columns.

Each is a ``StrEnum`` whose values are exactly what the database stores, so a row's string
compares equal to its member (``row.status == TerminalStatus.ACTIVE``). The schema turns each
into a CHECK constraint.
"""

from __future__ import annotations

from enum import StrEnum


class MerchantStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class TerminalStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class EntryKind(StrEnum):
    """What a ledger entry records; void/refund/reversal point at the entry they act on."""

    SALE = "sale"
    OFFLINE = "offline"
    VOID = "void"
    REFUND = "refund"
    REVERSAL = "reversal"


class ReversalState(StrEnum):
    """An upstream reversal row (``upstream_reversals``); see :mod:`possettle.host.reversals`."""

    INTENT = "intent"  # the request is on its way to the issuer; its answer decides
    PENDING = "pending"  # the issuer must be told to undo it; sent until acknowledged
    ACKNOWLEDGED = "acknowledged"  # a 0410 with a final code arrived: done


class BatchStatus(StrEnum):
    OPEN = "open"
    SETTLING = "settling"
    CLOSED = "closed"


class UploadStatus(StrEnum):
    """How one batch-upload record compared with the host's ledger."""

    MATCHED = "matched"
    MISSING_AT_HOST = "missing_at_host"
    AMOUNT_MISMATCH = "amount_mismatch"


class ReconCategory(StrEnum):
    """The reconciliation discrepancy ids the host itself can raise (docs/protocol.md)."""

    MISSING_AT_HOST = "missing_at_host"
    MISSING_AT_TERMINAL = "missing_at_terminal"
    AMOUNT_MISMATCH = "amount_mismatch"


class ExceptionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ConsoleRole(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class TicketStatus(StrEnum):
    """A support desk ticket (support_tickets): open while the interview goes on."""

    OPEN = "open"
    CLOSED = "closed"


class BadFrameKind(StrEnum):
    """Frames the host answered without booking anything: counted and sampled, never a row
    each (host/bad_frames.py)."""

    FORMAT_ERROR = "format_error"  # did not decode: answered 30
    MAC_ERROR = "mac_error"  # a registered, signed-on terminal's MAC did not verify: A0

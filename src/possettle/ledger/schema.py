"""The ledger's tables (SQLAlchemy Core), the single source the migrations must match.

Money is ``BigInteger`` minor units; every timestamp is timezone-aware UTC; every idempotency
key is a UNIQUE constraint (design.md, "Identity"). Card data: only a keyed hash and the
masked PAN are stored, except ``upload_items.pan_sealed`` (the PAN encrypted with the vault).
Constraint names come from :data:`NAMING_CONVENTION` so migrations can refer to them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

from possettle.ledger.kinds import (
    AlertStatus,
    BadFrameKind,
    BatchStatus,
    ConsoleRole,
    EntryKind,
    ExceptionStatus,
    MerchantStatus,
    ReversalState,
    TerminalStatus,
    TicketStatus,
    UploadStatus,
)

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored as UTC; SQLite (no zone support) reads back UTC.

    Naive datetimes are refused: the one clock always hands out aware ones.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use the injected clock")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BIGINT ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-increment rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column[Any]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _at(name: str, *, nullable: bool = False) -> Column[Any]:
    return Column(name, UTCDateTime(), nullable=nullable)


def _one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


def _flag(name: str, *, default: bool = False) -> Column[Any]:
    return Column(
        name, Boolean(), nullable=False, server_default=sa.true() if default else sa.false()
    )


merchants = Table(
    "merchants",
    metadata,
    Column("mid", String(15), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("status", String(10), nullable=False, server_default="active"),
    _at("created_at"),
    # printed on receipts under the name; sent to terminals at sign-on (0005)
    Column("address", String(80)),
    _one_of("status", MerchantStatus, "status"),
)

terminals = Table(
    "terminals",
    metadata,
    Column("tid", String(8), primary_key=True),
    Column("mid", String(15), ForeignKey("merchants.mid"), nullable=False),
    Column("status", String(10), nullable=False, server_default="active"),
    Column("region", String(40)),
    Column("model", String(40)),
    Column("tmk_sealed", LargeBinary(), nullable=False),
    Column("tmk_kcv", String(8), nullable=False),
    Column("pik_sealed", LargeBinary()),
    Column("mak_sealed", LargeBinary()),
    _at("keys_issued_at", nullable=True),
    _flag("signed_on"),
    # The host wants processing requirement 3 (sign on again) in its next reply.
    _flag("needs_signon"),
    # The batch number the host expects (sent in 0810 60.2).
    Column("current_batch", Integer(), nullable=False, server_default=sa.text("1")),
    Column("software_version", String(6)),
    _at("last_signon_at", nullable=True),
    _at("last_seen_at", nullable=True),
    _at("created_at"),
    _one_of("status", TerminalStatus, "status"),
    Index(None, "mid"),
)

host_policy = Table(
    "host_policy",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger(), nullable=False),
)

# Exactly-once store: a repeated request is answered with the stored reply.
requests = Table(
    "requests",
    metadata,
    _id(),
    Column("tid", String(8), nullable=False),
    Column("batch", Integer(), nullable=False),
    Column("stan", String(6), nullable=False),
    Column("mti", String(4), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("response_code", String(2), nullable=False),
    Column("reply", Text(), nullable=False),
    _at("created_at"),
    UniqueConstraint("tid", "batch", "stan", "mti"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    _id(),
    Column("tid", String(8), ForeignKey("terminals.tid"), nullable=False),
    Column("mid", String(15), ForeignKey("merchants.mid"), nullable=False),
    Column("batch", Integer(), nullable=False),
    Column("stan", String(6), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("orig_entry_id", Id, ForeignKey("ledger_entries.id")),
    Column("amount", BigInteger(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("domestic", Boolean(), nullable=False),
    # Signed deltas this entry adds to its batch totals (a reversal negates its original).
    Column("debit_amount", BigInteger(), nullable=False),
    Column("debit_count", Integer(), nullable=False),
    Column("credit_amount", BigInteger(), nullable=False),
    Column("credit_count", Integer(), nullable=False),
    Column("pan_hash", String(64), nullable=False),
    Column("pan_masked", String(19), nullable=False),
    Column("rrn", String(12), nullable=False),
    Column("auth_code", String(6)),
    Column("card_org", String(3), nullable=False),
    Column("host_date", Date(), nullable=False),
    _at("created_at"),
    _flag("voided"),
    _flag("reversed"),
    Column("refunded_amount", BigInteger(), nullable=False, server_default=sa.text("0")),
    # The business day it clears in (日切, possettle.ledger.business_day; migration 0007).
    Column("clearing_date", Date(), nullable=False),
    UniqueConstraint("tid", "batch", "stan", "kind"),
    _one_of("kind", EntryKind, "kind"),
    CheckConstraint("amount > 0", name="amount_positive"),
    Index(None, "tid", "batch"),
    Index(None, "rrn"),
    Index(None, "pan_hash"),
    Index(None, "clearing_date"),
)

batches = Table(
    "batches",
    metadata,
    Column("tid", String(8), ForeignKey("terminals.tid"), nullable=False),
    Column("batch", Integer(), nullable=False),
    Column("mid", String(15), ForeignKey("merchants.mid"), nullable=False),
    Column("status", String(10), nullable=False, server_default="open"),
    _at("opened_at"),
    _at("settle_requested_at", nullable=True),
    _at("closed_at", nullable=True),
    Column("terminal_totals", String(62)),
    Column("host_totals", String(62)),
    Column("result_domestic", Integer()),
    Column("result_foreign", Integer()),
    Column("uploaded_records", Integer(), nullable=False, server_default=sa.text("0")),
    Column("upload_end_count", Integer()),
    PrimaryKeyConstraint("tid", "batch"),
    _one_of("status", BatchStatus, "status"),
)

upload_items = Table(
    "upload_items",
    metadata,
    _id(),
    Column("tid", String(8), nullable=False),
    Column("batch", Integer(), nullable=False),
    Column("stan", String(6), nullable=False),
    Column("domestic", Boolean(), nullable=False),
    Column("pan_hash", String(64), nullable=False),
    Column("pan_masked", String(19), nullable=False),
    # The PAN encrypted at rest with the vault (design.md, "Card data").
    Column("pan_sealed", LargeBinary(), nullable=False),
    Column("amount", BigInteger(), nullable=False),
    Column("matched_entry_id", Id, ForeignKey("ledger_entries.id")),
    Column("status", String(20), nullable=False),
    _at("created_at"),
    UniqueConstraint("tid", "batch", "stan"),
    _one_of("status", UploadStatus, "status"),
)

recon_exceptions = Table(
    "recon_exceptions",
    metadata,
    _id(),
    Column("tid", String(8), nullable=False),
    Column("batch", Integer(), nullable=False),
    Column("stan", String(6), nullable=False),
    # A reconciliation discrepancy id (ReconCategory for the ones the host raises).
    Column("category", String(40), nullable=False),
    Column("amount", BigInteger(), nullable=False),
    Column("entry_id", Id, ForeignKey("ledger_entries.id")),
    Column("upload_item_id", Id, ForeignKey("upload_items.id")),
    Column("detail", Text(), nullable=False),
    Column("status", String(10), nullable=False, server_default="open"),
    _at("created_at"),
    UniqueConstraint("tid", "batch", "stan", "category"),
    _one_of("status", ExceptionStatus, "status"),
)

host_events = Table(
    "host_events",
    metadata,
    _id(),
    _at("at"),
    Column("tid", String(8)),
    Column("kind", String(40), nullable=False),
    Column("response_code", String(2)),
    # JSON; callers mask card data before it gets here.
    Column("detail", Text(), nullable=False),
    Index(None, "tid", "at"),
)

# ------------------------------------------------------------------ upstream reversals (0003)

# One row per upstream request whose fate at the issuer may need undoing (design.md, "Money";
# possettle.host.reversals). An ``intent`` is written before a financial request goes to the
# issuer and deleted in the commit that books its answer; the same commit turns it into a
# ``pending`` reversal when the answer was none (98/91 in doubt) or an approval the host could
# not book. A ``pending`` row is sent by whichever host process holds its lease, until the
# issuer's 0410 carries a final code: then ``acknowledged``, exactly once.
upstream_reversals = Table(
    "upstream_reversals",
    metadata,
    _id(),
    Column("rrn", String(12), nullable=False),
    Column("state", String(12), nullable=False),
    # field 39 of the 0400 (98 no reply, 96 host failure, 12/94 approval not booked, ...)
    Column("reason", String(2)),
    Column("issuer", String(200), nullable=False),
    Column("tid", String(8), nullable=False),
    Column("stan", String(6), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("amount", BigInteger(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("pan_masked", String(19), nullable=False),
    # The upstream original as the connector sent it (it holds the PAN, never track 2 or a
    # PIN block), sealed with the vault and bound to the row's RRN.
    Column("original_sealed", LargeBinary(), nullable=False),
    Column("auth_code", String(6)),
    Column("attempts", Integer(), nullable=False, server_default=sa.text("0")),
    _at("next_attempt_at", nullable=True),
    Column("last_outcome", String(80)),
    # the 0410's field 39 that acknowledged the reversal
    Column("response_code", String(2)),
    # field 39 of a reply that arrived after its request had timed out
    Column("late_reply_code", String(2)),
    # which host process may act on the row, and until when (several hosts, one ledger)
    Column("lease_owner", String(80)),
    _at("lease_until", nullable=True),
    _at("created_at"),
    _at("updated_at"),
    _at("acknowledged_at", nullable=True),
    Column("acknowledged_by", String(80)),
    UniqueConstraint("rrn"),
    _one_of("state", ReversalState, "state"),
    Index(None, "state", "next_attempt_at"),
)

terminal_reports = Table(
    "terminal_reports",
    metadata,
    Column("tid", String(8), ForeignKey("terminals.tid"), primary_key=True),
    _at("received_at"),
    Column("report", Text(), nullable=False),
)

# ---------------------------------------------------------------- console, alerts, audit (0002)

console_users = Table(
    "console_users",
    metadata,
    Column("username", String(40), primary_key=True),
    # scrypt, self-describing (possettle.terminal.operators.hash_password format)
    Column("password_hash", String(200), nullable=False),
    Column("role", String(10), nullable=False),
    Column("failed_attempts", Integer(), nullable=False, server_default=sa.text("0")),
    _at("locked_until", nullable=True),
    _at("created_at"),
    _one_of("role", ConsoleRole, "role"),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    # the SHA-256 of the session token; the token itself lives only in the browser's cookie
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(40), ForeignKey("console_users.username"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    _at("created_at"),
    _at("expires_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    _at("at"),
    Column("actor", String(40), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(60), nullable=False),
    Column("detail", Text(), nullable=False),
    # each row's hash covers its content and the previous row's hash: tampering shows
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    _id(),
    Column("rule", String(60), nullable=False),
    Column("cause", String(40), nullable=False),
    Column("severity", String(10), nullable=False),
    # one incident per shared cause: the rule's grouping key (e.g. region, issuer)
    Column("incident_key", String(120), nullable=False),
    Column("status", String(12), nullable=False, server_default="open"),
    Column("summary_en", Text(), nullable=False),
    Column("summary_zh", Text(), nullable=False),
    Column("terminals", Text(), nullable=False),  # JSON list of TIDs
    _at("first_at"),
    _at("last_at"),
    _at("notified_at", nullable=True),
    Column("ack_by", String(40)),
    Column("ack_note", Text()),
    _at("ack_at", nullable=True),
    _at("resolved_at", nullable=True),
    Index(None, "status", "rule", "incident_key"),
    _one_of("status", AlertStatus, "status"),
)

# ---------------------------------------------------------------- bad frames (0004)
# Format and MAC errors are counted, not logged a row each: an attacker cannot fill the disk.
# ``source`` is a registered TID, or a pool that can never be one (TIDs are 8 characters):
# "unknown" (no TID readable) or "unregistered" (a TID the registry does not have).

bad_frame_counts = Table(
    "bad_frame_counts",
    metadata,
    Column("source", String(12), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("frames", BigInteger(), nullable=False),
    _at("first_at"),
    _at("last_at"),
    PrimaryKeyConstraint("source", "kind"),
    _one_of("kind", BadFrameKind, "kind"),
)

# The most recent bad frames, bounded (HostConfig.bad_frame_sample_size, retention by age).
bad_frame_samples = Table(
    "bad_frame_samples",
    metadata,
    _id(),
    _at("at"),
    Column("source", String(12), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("response_code", String(2), nullable=False),
    # JSON, masked before it gets here (possettle.iso8583.mask)
    Column("detail", Text(), nullable=False),
    Index(None, "source", "at"),
    _one_of("kind", BadFrameKind, "kind"),
)

# ---------------------------------------------------------------- support desk tickets (0006)
# One row per case the console's Support desk handled. The photo's bytes are not kept (a
# ledger is no place for images, and a size cap per row would still let many rows fill the
# disk): its SHA-256, its size and the text OCR read off it are. ``answers``, ``steps`` (the
# ranking at each step) and ``result`` (the latest step's full answer) are JSON.

support_tickets = Table(
    "support_tickets",
    metadata,
    _id(),
    Column("status", String(10), nullable=False, server_default="open"),
    # as the merchant gave it; ``ours`` when the console's ledger has that terminal
    Column("tid", String(16)),
    _flag("ours"),
    Column("screen", Text()),
    Column("code", String(8)),
    Column("acquirer", String(20)),
    Column("model", String(40)),
    Column("photo_text", Text()),
    Column("photo_sha256", String(64)),
    Column("photo_bytes", Integer()),
    Column("answers", Text(), nullable=False),
    Column("steps", Text(), nullable=False),
    Column("result", Text(), nullable=False),
    # the top cause of the latest step (the final cause once the ticket is closed)
    Column("cause", String(40)),
    Column("created_by", String(40), nullable=False),
    Column("updated_by", String(40), nullable=False),
    _at("created_at"),
    _at("updated_at"),
    _at("closed_at", nullable=True),
    Index(None, "tid", "created_at"),
    Index(None, "status", "updated_at"),
    _one_of("status", TicketStatus, "status"),
)

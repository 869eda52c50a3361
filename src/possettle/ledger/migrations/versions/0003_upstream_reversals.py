"""Upstream reversals: the durable queue of 0400s the host owes the issuer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "upstream_reversals",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("rrn", sa.String(12), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(2)),
        sa.Column("issuer", sa.String(200), nullable=False),
        sa.Column("tid", sa.String(8), nullable=False),
        sa.Column("stan", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("pan_masked", sa.String(19), nullable=False),
        sa.Column("original_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("auth_code", sa.String(6)),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        _at("next_attempt_at", nullable=True),
        sa.Column("last_outcome", sa.String(80)),
        sa.Column("response_code", sa.String(2)),
        sa.Column("late_reply_code", sa.String(2)),
        sa.Column("lease_owner", sa.String(80)),
        _at("lease_until", nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _at("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(80)),
        sa.CheckConstraint(
            "state IN ('intent', 'pending', 'acknowledged')", name="ck_upstream_reversals_state"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_upstream_reversals"),
        sa.UniqueConstraint("rrn", name="uq_upstream_reversals_rrn"),
    )
    op.create_index(
        "ix_upstream_reversals_state_next_attempt_at",
        "upstream_reversals",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_upstream_reversals_state_next_attempt_at", table_name="upstream_reversals")
    op.drop_table("upstream_reversals")

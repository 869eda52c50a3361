"""Support desk tickets: each case the console's Support desk handled (issue 13).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "support_tickets",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(10), nullable=False, server_default="open"),
        sa.Column("tid", sa.String(16), nullable=True),
        sa.Column("ours", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("screen", sa.Text(), nullable=True),
        sa.Column("code", sa.String(8), nullable=True),
        sa.Column("acquirer", sa.String(20), nullable=True),
        sa.Column("model", sa.String(40), nullable=True),
        sa.Column("photo_text", sa.Text(), nullable=True),
        sa.Column("photo_sha256", sa.String(64), nullable=True),
        sa.Column("photo_bytes", sa.Integer(), nullable=True),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("cause", sa.String(40), nullable=True),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("updated_by", sa.String(40), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        _at("closed_at", nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_support_tickets_status"),
        sa.PrimaryKeyConstraint("id", name="pk_support_tickets"),
    )
    op.create_index("ix_support_tickets_tid_created_at", "support_tickets", ["tid", "created_at"])
    op.create_index(
        "ix_support_tickets_status_updated_at", "support_tickets", ["status", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_support_tickets_status_updated_at", table_name="support_tickets")
    op.drop_index("ix_support_tickets_tid_created_at", table_name="support_tickets")
    op.drop_table("support_tickets")

"""Console users and sessions, the hash-chained audit log, and stored alerts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column[object]:
    return sa.Column("id", ID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        _at("locked_until", nullable=True),
        _at("created_at"),
        sa.CheckConstraint("role IN ('viewer', 'operator', 'admin')", name="ck_console_users_role"),
        sa.PrimaryKeyConstraint("username", name="pk_console_users"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        sa.ForeignKeyConstraint(
            ["username"], ["console_users.username"],
            name="fk_console_sessions_username_console_users",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_console_sessions"),
    )  # fmt: skip
    op.create_table(
        "audit_log",
        _id(),
        _at("at"),
        sa.Column("actor", sa.String(40), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(60), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_table(
        "alerts",
        _id(),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("cause", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("incident_key", sa.String(120), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="open"),
        sa.Column("summary_en", sa.Text(), nullable=False),
        sa.Column("summary_zh", sa.Text(), nullable=False),
        sa.Column("terminals", sa.Text(), nullable=False),
        _at("first_at"),
        _at("last_at"),
        _at("notified_at", nullable=True),
        sa.Column("ack_by", sa.String(40)),
        sa.Column("ack_note", sa.Text()),
        _at("ack_at", nullable=True),
        _at("resolved_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'resolved')", name="ck_alerts_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index(
        "ix_alerts_status_rule_incident_key", "alerts", ["status", "rule", "incident_key"]
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_status_rule_incident_key", table_name="alerts")
    for table in ("alerts", "audit_log", "console_sessions", "console_users"):
        op.drop_table(table)

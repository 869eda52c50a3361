"""Bad frames are counted and sampled, not a ``host_events`` row each.

Format errors and MAC errors were written one ``host_events`` row per frame, unauthenticated
and never pruned (issue 10). This adds the per-terminal counters and the bounded sample, moves
the rows already written into them (the newest 1,000 stay as the sample; the host trims that
to its configured size on its first flush) and deletes them from ``host_events``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KINDS = "kind IN ('format_error', 'mac_error')"
#: rows moved into the sample (HostConfig.bad_frame_sample_size's default)
SAMPLE = 1000


def _at(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "bad_frame_counts",
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("frames", sa.BigInteger(), nullable=False),
        _at("first_at"),
        _at("last_at"),
        sa.CheckConstraint(KINDS, name="ck_bad_frame_counts_kind"),
        sa.PrimaryKeyConstraint("source", "kind", name="pk_bad_frame_counts"),
    )
    op.create_table(
        "bad_frame_samples",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        _at("at"),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("response_code", sa.String(2), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.CheckConstraint(KINDS, name="ck_bad_frame_samples_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_bad_frame_samples"),
    )
    op.create_index("ix_bad_frame_samples_source_at", "bad_frame_samples", ["source", "at"])
    # a registered TID, else a pool that can never be a TID (ledger/bad_frames.py)
    op.execute(
        "INSERT INTO bad_frame_counts (source, kind, frames, first_at, last_at) "
        "SELECT s.source, s.kind, COUNT(*), MIN(s.at), MAX(s.at) FROM ("
        "SELECT CASE WHEN e.tid IS NULL OR e.tid = '' THEN 'unknown' "
        "WHEN e.tid IN (SELECT t.tid FROM terminals t) THEN e.tid ELSE 'unregistered' END "
        "AS source, e.kind AS kind, e.at AS at FROM host_events e "
        "WHERE e.kind IN ('format_error', 'mac_error')) s GROUP BY s.source, s.kind"
    )
    op.get_bind().execute(
        sa.text(
            "INSERT INTO bad_frame_samples (at, source, kind, response_code, detail) "
            "SELECT s.at, s.source, s.kind, s.code, s.detail FROM ("
            "SELECT e.id AS id, e.at AS at, "
            "CASE WHEN e.tid IS NULL OR e.tid = '' THEN 'unknown' "
            "WHEN e.tid IN (SELECT t.tid FROM terminals t) THEN e.tid ELSE 'unregistered' END "
            "AS source, e.kind AS kind, COALESCE(e.response_code, '') AS code, "
            "e.detail AS detail FROM host_events e "
            "WHERE e.kind IN ('format_error', 'mac_error') ORDER BY e.id DESC LIMIT :sample"
            ") s ORDER BY s.id"
        ),
        {"sample": SAMPLE},
    )
    op.execute("DELETE FROM host_events WHERE kind IN ('format_error', 'mac_error')")


def downgrade() -> None:
    # The counts cannot become rows again; the sample goes back to host_events.
    op.execute(
        "INSERT INTO host_events (at, tid, kind, response_code, detail) "
        "SELECT at, CASE WHEN LENGTH(source) = 8 THEN source END, kind, response_code, detail "
        "FROM bad_frame_samples ORDER BY id"
    )
    op.drop_index("ix_bad_frame_samples_source_at", table_name="bad_frame_samples")
    op.drop_table("bad_frame_samples")
    op.drop_table("bad_frame_counts")

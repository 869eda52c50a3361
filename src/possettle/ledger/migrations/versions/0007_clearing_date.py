"""Every ledger entry gets a clearing date (日切, issue 14): the business day it clears in.

The host stamps new entries from its cut-over policy (possettle.ledger.business_day).
Existing rows are backfilled from ``host_date`` (the calendar day the host booked them): the
ledger kept no cut-over before, so that is the best day on record; the column is NOT NULL
after the backfill and indexed (clearing files are cut by it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

INDEX = "ix_ledger_entries_clearing_date"


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("clearing_date", sa.Date(), nullable=True))
    op.execute("UPDATE ledger_entries SET clearing_date = host_date WHERE clearing_date IS NULL")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.alter_column("clearing_date", existing_type=sa.Date(), nullable=False)
    op.create_index(INDEX, "ledger_entries", ["clearing_date"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="ledger_entries")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("clearing_date")

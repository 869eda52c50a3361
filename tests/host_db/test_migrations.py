"""Migrations: packaged, run from code, idempotent, and matching schema.py exactly."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from possettle.host.ledger.db import create_engine_for
from possettle.host.ledger.migrate import current_revision, head_revision, init_db
from possettle.host.ledger.schema import metadata


def test_init_creates_the_schema_and_a_second_call_is_a_no_op(db_url: str) -> None:
    assert current_revision(db_url) is None
    assert init_db(db_url) == head_revision() == "0003"
    assert init_db(db_url) == "0003"
    assert current_revision(db_url) == "0003"
    engine = create_engine_for(db_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_migrated_schema_matches_the_metadata(ledger_url: str) -> None:
    engine = create_engine_for(ledger_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diffs == []


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("requests", ["tid", "batch", "stan", "mti"]),
        ("ledger_entries", ["tid", "batch", "stan", "kind"]),
        ("upload_items", ["tid", "batch", "stan"]),
        ("recon_exceptions", ["tid", "batch", "stan", "category"]),
    ],
)
def test_every_idempotency_key_is_a_unique_constraint(
    ledger_url: str, table: str, columns: list[str]
) -> None:
    engine = create_engine_for(ledger_url)
    try:
        uniques = sa.inspect(engine).get_unique_constraints(table)
    finally:
        engine.dispose()
    assert [u["column_names"] for u in uniques] == [columns]

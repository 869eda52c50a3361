"""Migrations: packaged, run from code, idempotent, and matching schema.py exactly."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from possettle.crypto.vault import Vault
from possettle.host.registry import add_merchant, add_terminal
from possettle.ledger.engine import create_engine_for
from possettle.ledger.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    init_db,
    upgrade_engine,
)
from possettle.ledger.schema import (
    bad_frame_counts,
    bad_frame_samples,
    host_events,
    ledger_entries,
    metadata,
)
from tests.ledger.conftest import MID, T0, TID


def test_init_creates_the_schema_and_a_second_call_is_a_no_op(db_url: str) -> None:
    assert current_revision(db_url) is None
    assert init_db(db_url) == head_revision() == "0007"
    assert init_db(db_url) == "0007"
    assert current_revision(db_url) == "0007"
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


def test_0004_moves_old_bad_frame_events_into_counters_and_a_sample(
    db_url: str, vault: Vault
) -> None:
    """Ledgers from before 0004 wrote one host_events row per bad frame: the upgrade counts
    them (registered TIDs apart, the rest pooled), keeps them as the sample, and deletes them."""
    engine = create_engine_for(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0002")
            add_merchant(conn, MID, "Test Shop", at=T0)
            add_terminal(conn, vault, TID, MID, at=T0)
            old = [("signon", TID, None)] + [("mac_error", TID, "A0")] * 3
            old += [("format_error", "R0000001", "30"), ("format_error", "R0000002", "30")]
            old += [("format_error", None, "30")]
            for n, (kind, tid, code) in enumerate(old):
                conn.execute(
                    host_events.insert().values(
                        at=T0 + timedelta(seconds=n), tid=tid, kind=kind, response_code=code,
                        detail="{}",
                    )
                )  # fmt: skip
        upgrade_engine(engine)
        with engine.connect() as conn:
            counts = {
                (r.source, r.kind): (r.frames, r.first_at, r.last_at)
                for r in conn.execute(sa.select(bad_frame_counts))
            }
            sample = conn.execute(
                sa.select(bad_frame_samples.c.source, bad_frame_samples.c.kind)
                .order_by(bad_frame_samples.c.id)
            ).all()  # fmt: skip
            events = conn.execute(sa.select(host_events.c.kind)).scalars().all()
    finally:
        engine.dispose()
    s = timedelta(seconds=1)
    assert counts == {
        (TID, "mac_error"): (3, T0 + s, T0 + 3 * s),
        ("unregistered", "format_error"): (2, T0 + 4 * s, T0 + 5 * s),
        ("unknown", "format_error"): (1, T0 + 6 * s, T0 + 6 * s),
    }
    assert [tuple(r) for r in sample] == [
        (TID, "mac_error"), (TID, "mac_error"), (TID, "mac_error"),
        ("unregistered", "format_error"), ("unregistered", "format_error"),
        ("unknown", "format_error"),
    ]  # fmt: skip
    assert events == ["signon"]


def test_0007_backfills_the_clearing_date_from_host_date_and_keeps_the_constraints(
    db_url: str, vault: Vault
) -> None:
    """Entries from before 0007 clear on the day the host booked them (``host_date``); the
    column is then NOT NULL and indexed, and the table keeps its checks and keys."""
    engine = create_engine_for(db_url)
    row = {
        "tid": TID, "mid": MID, "batch": 1, "kind": "sale", "amount": 500, "currency": "156",
        "domestic": True, "debit_amount": 500, "debit_count": 1, "credit_amount": 0,
        "credit_count": 0, "pan_hash": "h" * 64, "pan_masked": "622202******1234",
        "rrn": "000000000001", "card_org": "CUP", "created_at": T0,
    }  # fmt: skip
    days = [date(2026, 11, 26), date(2026, 12, 31)]
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0006")
            add_merchant(conn, MID, "Test Shop", at=T0)
            add_terminal(conn, vault, TID, MID, at=T0)
            for n, day in enumerate(days, start=1):
                conn.execute(ledger_entries.insert().values(**row, stan=f"{n:06d}", host_date=day))
        upgrade_engine(engine)
        with engine.connect() as conn:
            got = conn.execute(
                sa.select(ledger_entries.c.host_date, ledger_entries.c.clearing_date)
                .order_by(ledger_entries.c.id)
            ).all()  # fmt: skip
        inspector = sa.inspect(engine)
        column = next(
            c for c in inspector.get_columns("ledger_entries") if c["name"] == "clearing_date"
        )
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("ledger_entries")}
        uniques = inspector.get_unique_constraints("ledger_entries")
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(
                ledger_entries.insert().values(
                    **dict(row, amount=0), stan="000009", host_date=T0.date(),
                    clearing_date=T0.date(),
                )
            )  # fmt: skip
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(ledger_entries.insert().values(**row, stan="000010", host_date=T0.date()))
    finally:
        engine.dispose()
    assert [tuple(r) for r in got] == [(d, d) for d in days]
    assert column["nullable"] is False
    assert indexes["ix_ledger_entries_clearing_date"] == ["clearing_date"]
    assert [u["column_names"] for u in uniques] == [["tid", "batch", "stan", "kind"]]

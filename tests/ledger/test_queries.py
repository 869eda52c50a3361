"""Unique keys, counters, policy and batch sums on the migrated ledger."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from possettle.ledger.kinds import EntryKind
from possettle.ledger.queries import (
    BatchSums,
    HalfSums,
    batch_sums,
    get_policy,
    next_counter,
    set_policy,
)
from possettle.ledger.schema import (
    batches,
    ledger_entries,
    recon_exceptions,
    requests,
    upload_items,
)
from possettle.ledger.writer import LedgerWriter

from .conftest import MID, T0, TID


def entry(
    stan: str, kind: EntryKind, amount: int, *, domestic: bool = True, **deltas: int
) -> dict[str, Any]:
    return {
        "tid": TID,
        "mid": MID,
        "batch": 1,
        "stan": stan,
        "kind": kind.value,
        "amount": amount,
        "currency": "156",
        "domestic": domestic,
        "debit_amount": deltas.get("debit_amount", 0),
        "debit_count": deltas.get("debit_count", 0),
        "credit_amount": deltas.get("credit_amount", 0),
        "credit_count": deltas.get("credit_count", 0),
        "pan_hash": "0" * 64,
        "pan_masked": "622202*********0128",
        "rrn": "000000000001",
        "card_org": "CUP" if domestic else "VIS",
        "host_date": date(2026, 11, 26),
        "clearing_date": date(2026, 11, 26),
        "created_at": T0,
    }


ROWS: dict[str, tuple[sa.Table, dict[str, Any]]] = {
    "requests": (
        requests,
        {
            "tid": TID,
            "batch": 1,
            "stan": "000001",
            "mti": "0200",
            "digest": "a" * 64,
            "response_code": "00",
            "reply": "{}",
            "created_at": T0,
        },
    ),
    "ledger_entries": (
        ledger_entries,
        entry("000001", EntryKind.SALE, 100, debit_amount=100, debit_count=1),
    ),
    "upload_items": (
        upload_items,
        {
            "tid": TID,
            "batch": 1,
            "stan": "000001",
            "domestic": True,
            "pan_hash": "0" * 64,
            "pan_masked": "622202*********0128",
            "pan_sealed": b"sealed",
            "amount": 100,
            "status": "missing_at_host",
            "created_at": T0,
        },
    ),
    "recon_exceptions": (
        recon_exceptions,
        {
            "tid": TID,
            "batch": 1,
            "stan": "000001",
            "category": "missing_at_host",
            "amount": 100,
            "detail": "{}",
            "created_at": T0,
        },
    ),
    "batches": (
        batches,
        {"tid": TID, "batch": 1, "mid": MID, "opened_at": T0},
    ),
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_a_repeated_idempotency_key_is_refused(seeded: Engine, name: str) -> None:
    table, row = ROWS[name]
    with seeded.begin() as conn:
        conn.execute(table.insert().values(**row))
    with pytest.raises(sa.exc.IntegrityError), seeded.begin() as conn:
        conn.execute(table.insert().values(**row))
    with seeded.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 1


def test_check_constraints_refuse_unknown_kinds_and_non_positive_amounts(seeded: Engine) -> None:
    bad_kind = entry("000002", EntryKind.SALE, 100) | {"kind": "gift"}
    zero = entry("000003", EntryKind.SALE, 0)
    for row in (bad_kind, zero):
        with pytest.raises(sa.exc.IntegrityError), seeded.begin() as conn:
            conn.execute(ledger_entries.insert().values(**row))


def test_timestamps_come_back_timezone_aware(seeded: Engine) -> None:
    with seeded.begin() as conn:
        conn.execute(batches.insert().values(**ROWS["batches"][1]))
        opened = conn.execute(sa.select(batches.c.opened_at)).scalar_one()
    assert opened == T0 and opened.utcoffset() is not None


def test_counters_count_from_one(engine: Engine) -> None:
    with engine.begin() as conn:
        assert [next_counter(conn, "rrn") for _ in range(3)] == [1, 2, 3]
        assert next_counter(conn, "other") == 1


async def test_concurrent_counter_increments_never_repeat(engine: Engine) -> None:
    writer = LedgerWriter(engine)
    await writer.start()
    values = await asyncio.gather(
        *(writer.run(lambda c: next_counter(c, "rrn")) for _ in range(200))
    )
    await writer.aclose()
    assert sorted(values) == list(range(1, 201))


def test_policy_defaults_then_remembers_the_last_value(engine: Engine) -> None:
    with engine.begin() as conn:
        assert get_policy(conn, "min_version", "000000") == "000000"
        set_policy(conn, "min_version", "010200")
        set_policy(conn, "min_version", "010300")
        assert get_policy(conn, "min_version", "000000") == "010300"


def test_batch_sums_add_the_signed_deltas_per_half(seeded: Engine) -> None:
    rows = [
        entry("000001", EntryKind.SALE, 10_000, debit_amount=10_000, debit_count=1),
        entry("000002", EntryKind.SALE, 2_500, debit_amount=2_500, debit_count=1),
        entry("000003", EntryKind.VOID, 2_500, debit_amount=-2_500, debit_count=-1),
        entry("000004", EntryKind.OFFLINE, 700, debit_amount=700, debit_count=1),
        entry("000005", EntryKind.REFUND, 300, credit_amount=300, credit_count=1),
        entry("000006", EntryKind.SALE, 999, debit_amount=999, debit_count=1),
        entry("000006", EntryKind.REVERSAL, 999, debit_amount=-999, debit_count=-1),
        entry("000007", EntryKind.SALE, 5_000, domestic=False, debit_amount=5_000, debit_count=1),
        entry("000008", EntryKind.REFUND, 40, domestic=False, credit_amount=40, credit_count=1),
    ]
    other_batch = entry("000009", EntryKind.SALE, 1, debit_amount=1, debit_count=1) | {"batch": 2}
    with seeded.begin() as conn:
        conn.execute(ledger_entries.insert(), [*rows, other_batch])

    def sums(conn: Connection) -> BatchSums:
        return batch_sums(conn, TID, 1)

    with seeded.connect() as conn:
        assert sums(conn) == BatchSums(
            domestic=HalfSums(10_700, 2, 300, 1), foreign=HalfSums(5_000, 1, 40, 1)
        )
        assert batch_sums(conn, TID, 3) == BatchSums(HalfSums(), HalfSums())

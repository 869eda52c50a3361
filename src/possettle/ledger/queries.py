"""Small typed read and upsert helpers the host handlers share.

Each takes a :class:`~sqlalchemy.engine.Connection`, so it runs as a writer op or inside
``Database.read``::

    sums = await db.read(lambda c: batch_sums(c, "12345678", 1))
    rrn = await db.write(lambda c: next_counter(c, "rrn"))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from possettle.ledger.schema import counters, host_policy, ledger_entries


@dataclass(frozen=True)
class HalfSums:
    """One half (domestic or foreign) of a batch's totals, as in 0500 field 48."""

    debit_amount: int = 0
    debit_count: int = 0
    credit_amount: int = 0
    credit_count: int = 0


@dataclass(frozen=True)
class BatchSums:
    """The host's totals for one batch: CUP cards are domestic, every other org foreign."""

    domestic: HalfSums = HalfSums()
    foreign: HalfSums = HalfSums()


def _sum(column: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    # SUM(bigint) is NUMERIC on PostgreSQL (Decimal in Python): cast back to an integer.
    return sa.cast(sa.func.coalesce(sa.func.sum(column), 0), sa.BigInteger())


def batch_sums(conn: Connection, tid: str, batch: int) -> BatchSums:
    """The sums of the entries' signed deltas for ``tid``'s ``batch`` in one GROUP BY.

    Sales and offline sales add to debit, voids subtract, refunds add to credit and a
    reversal is the exact negation of what it reverses, so plain sums are the totals.
    """
    le = ledger_entries.c
    query = (
        sa.select(
            le.domestic,
            _sum(le.debit_amount),
            _sum(le.debit_count),
            _sum(le.credit_amount),
            _sum(le.credit_count),
        )
        .where(le.tid == tid, le.batch == batch)
        .group_by(le.domestic)
    )
    halves = {True: HalfSums(), False: HalfSums()}
    for domestic, debit_amount, debit_count, credit_amount, credit_count in conn.execute(query):
        halves[bool(domestic)] = HalfSums(
            int(debit_amount), int(debit_count), int(credit_amount), int(credit_count)
        )
    return BatchSums(domestic=halves[True], foreign=halves[False])


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT that supports ``ON CONFLICT`` (SQLite ≥ 3.35 and PostgreSQL)."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"ledger upserts are not written for the {name} dialect")


def insert_ignore(table: sa.Table) -> dict[str, Any]:
    """``INSERT … ON CONFLICT DO NOTHING`` into ``table``, built once per dialect name.

    Run it with a parameter dict (``conn.execute(stmts[conn.dialect.name], values)``), so the
    statement is compiled once instead of on every call.
    """
    return {
        "postgresql": postgresql.insert(table).on_conflict_do_nothing(),
        "sqlite": sqlite.insert(table).on_conflict_do_nothing(),
    }


def next_counter(conn: Connection, name: str) -> int:
    """Atomically add one to counter ``name`` (created at 1) and return the new value.

    One ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement: atomic on SQLite and on
    PostgreSQL even with several host processes.
    """
    stmt = dialect_insert(conn, counters).values(name=name, value=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[counters.c.name], set_={"value": counters.c.value + 1}
    ).returning(counters.c.value)
    return int(conn.execute(stmt).scalar_one())


def get_policy(conn: Connection, name: str, default: str) -> str:
    """Host policy ``name`` (e.g. ``min_version``), or ``default`` when it was never set."""
    value = conn.execute(
        sa.select(host_policy.c.value).where(host_policy.c.name == name)
    ).scalar_one_or_none()
    return default if value is None else str(value)


def set_policy(conn: Connection, name: str, value: str) -> None:
    """Set host policy ``name`` to ``value`` (insert or overwrite)."""
    stmt = dialect_insert(conn, host_policy).values(name=name, value=value)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=[host_policy.c.name], set_={"value": value})
    )

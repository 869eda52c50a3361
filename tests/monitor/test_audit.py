"""The audit chain: it verifies as written, and any edit, deletion or insertion is caught at
the first row that no longer fits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from possettle.ledger.schema import audit_log
from possettle.monitor.audit import GENESIS, entries, entry_hash, head, record, verify
from possettle.monitor.errors import AuditError

T0 = datetime(2026, 11, 26, 9, 0, 0, 123456, tzinfo=UTC)


def _write(engine: Engine, n: int = 5) -> list[int]:
    ids = []
    with engine.begin() as conn:
        for i in range(n):
            e = record(conn, f"user{i}", "terminal.disable", f"terminal:T000000{i}",
                       {"reason": "stolen", "n": i}, T0 + timedelta(minutes=i))  # fmt: skip
            ids.append(e.id)
    return ids


def _verify(engine: Engine) -> tuple[bool, int | None]:
    with engine.connect() as conn:
        return verify(conn)


def test_an_empty_log_verifies(engine: Engine) -> None:
    assert _verify(engine) == (True, None)
    with engine.connect() as conn:
        assert head(conn) == GENESIS == "0" * 64


def test_each_row_chains_to_the_one_before(engine: Engine) -> None:
    _write(engine)
    with engine.connect() as conn:
        rows = entries(conn)
    assert rows[0].prev_hash == GENESIS
    for before, after in pairwise(rows):
        assert after.prev_hash == before.hash
    assert rows[2].detail == '{"n":2,"reason":"stolen"}'
    assert rows[2].at == T0 + timedelta(minutes=2)
    assert _verify(engine) == (True, None)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("detail", '{"n":2,"reason":"found"}'),
        ("actor", "mallory"),
        ("action", "terminal.enable"),
        ("target", "terminal:T0000009"),
        ("at", T0 + timedelta(hours=1)),
        ("prev_hash", "f" * 64),
    ],
)
def test_editing_any_field_is_caught_at_that_row(engine: Engine, column: str, value: Any) -> None:
    ids = _write(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.id == ids[2]).values({column: value}))
    assert _verify(engine) == (False, ids[2])


def test_rehashing_an_edited_row_is_caught_at_the_next_row(engine: Engine) -> None:
    ids = _write(engine)
    with engine.begin() as conn:
        row = conn.execute(sa.select(audit_log).where(audit_log.c.id == ids[2])).one()
        forged = entry_hash(row.at, "mallory", row.action, row.target, row.detail, row.prev_hash)
        conn.execute(
            sa.update(audit_log)
            .where(audit_log.c.id == ids[2])
            .values(actor="mallory", hash=forged)
        )
    assert _verify(engine) == (False, ids[3])


@pytest.mark.parametrize("victim", [0, 2])
def test_deleting_a_row_is_caught_at_its_successor(engine: Engine, victim: int) -> None:
    ids = _write(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.id == ids[victim]))
    assert _verify(engine) == (False, ids[victim + 1])


def test_appending_after_verification_keeps_the_chain(engine: Engine) -> None:
    _write(engine, 2)
    with engine.connect() as conn:
        before = head(conn)
    with engine.begin() as conn:
        e = record(conn, "alice", "alert.ack", "alert:1", "plain text note", T0)
    assert e.prev_hash == before and _verify(engine) == (True, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actor": " "}, "audit actor is empty"),
        ({"action": "x" * 41}, "audit action 'xxxxxxxxxxxxxxxxxxxx'… is over 40 characters"),
        ({"at": datetime(2026, 11, 26, 9, 0)}, "audit time must be timezone-aware"),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_written(
    engine: Engine, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"actor": "alice", "action": "a", "target": "t", "detail": "", "at": T0}
    with engine.begin() as conn:
        with pytest.raises(AuditError, match=message.replace("(", r"\(")):
            record(conn, **(args | kwargs))
        assert entries(conn) == []

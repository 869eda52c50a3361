"""The sale's hot-path statements: raw compiled SQL writes what Core would, on both backends;
the visit guard matches only while the state it was given still holds."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from possettle.crypto.keys import generate_key
from possettle.crypto.vault import Vault
from possettle.host.registry import add_merchant, add_terminal, set_terminal_status
from possettle.ledger.database import Database
from possettle.ledger.engine import create_engine_for
from possettle.ledger.idempotency import (
    RequestKey,
    find_request,
    find_requests,
    store_request,
)
from possettle.ledger.kinds import BatchStatus, EntryKind
from possettle.ledger.migrate import init_db
from possettle.ledger.postings import NewEntry, find_entry, post
from possettle.ledger.queries import get_policy, set_policy
from possettle.ledger.schema import batches, ledger_entries, requests, terminals
from possettle.ledger.terminal_state import (
    TerminalState,
    load_terminal,
    mark_needs_signon,
    store_session_keys,
    touch_if_current,
)

from .conftest import MID, T0, TID


def signed_on(engine: Engine, vault: Vault) -> TerminalState:
    with engine.begin() as conn:
        store_session_keys(
            conn, vault, TID, generate_key(16), generate_key(8), at=T0, software_version="010000"
        )
        state = load_terminal(conn, vault, TID)
    assert state is not None and state.mak_seal is not None
    return state


def test_a_posted_entry_reads_back_through_core_as_it_was_given(
    seeded: Engine, vault: Vault
) -> None:
    new = NewEntry(
        tid=TID,
        mid=MID,
        batch=1,
        stan="000042",
        kind=EntryKind.SALE,
        amount=12345,
        currency="156",
        domestic=True,
        pan_hash="ab" * 32,
        pan_masked="622202*********0128",
        rrn="000000000042",
        auth_code=None,
        card_org="CUP",
        host_date=T0.date(),
        created_at=T0 + timedelta(microseconds=123456),
        clearing_date=T0.date(),
    )
    with seeded.begin() as conn:
        entry_id = post(conn, new)
        row = conn.execute(sa.select(ledger_entries).where(ledger_entries.c.id == entry_id)).one()
        found = find_entry(conn, TID, 1, "000042", (EntryKind.SALE,))
    assert found is not None and found.id == entry_id
    assert (row.amount, row.debit_amount, row.debit_count, row.credit_count) == (12345, 12345, 1, 0)
    assert row.domestic is True and row.auth_code is None and row.voided is False
    assert (row.host_date, row.created_at) == (new.host_date, new.created_at)


def test_stored_requests_are_found_by_either_mti_and_round_trip(
    seeded: Engine, vault: Vault
) -> None:
    key = RequestKey(TID, 1, "000007", "0200")
    with seeded.begin() as conn:
        store_request(conn, key, "d" * 64, "00", '{"code": "00"}', T0)
        assert find_requests(conn, TID, 1, "000007", ("0200", "0400")).keys() == {"0200"}
        store_request(conn, replace(key, mti="0400"), "e" * 64, "25", "{}", T0)
        both = find_requests(conn, TID, 1, "000007", ("0200", "0400"))
        created = conn.execute(sa.select(requests.c.created_at)).scalars().all()
    assert both.keys() == {"0200", "0400"}
    assert (both["0400"].digest, both["0400"].response_code) == ("e" * 64, "25")
    assert created == [T0, T0]
    with seeded.connect() as conn:
        assert find_request(conn, replace(key, stan="000008")) is None


def test_the_visit_guard_holds_for_the_state_as_read(seeded: Engine, vault: Vault) -> None:
    state = signed_on(seeded, vault)
    with seeded.begin() as conn:
        assert touch_if_current(conn, state, T0 + timedelta(seconds=1))
        seen = conn.execute(sa.select(terminals.c.last_seen_at)).scalar_one()
    assert seen == T0 + timedelta(seconds=1)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c, v: set_terminal_status(c, TID, "disabled"), id="disabled"),
        pytest.param(lambda c, v: mark_needs_signon(c, TID), id="mac-failure"),
        pytest.param(
            lambda c, v: store_session_keys(
                c, v, TID, generate_key(16), generate_key(8), at=T0, software_version="010000"
            ),
            id="new-keys",
        ),
        pytest.param(
            lambda c, v: c.execute(sa.update(terminals).values(current_batch=2)), id="new-batch"
        ),
        pytest.param(
            lambda c, v: c.execute(
                sa.insert(batches).values(
                    tid=TID, batch=1, mid=MID, status=BatchStatus.SETTLING.value, opened_at=T0
                )
            ),
            id="batch-settling",
        ),
    ],
)
def test_the_visit_guard_refuses_a_state_the_ledger_has_moved_past(
    seeded: Engine, vault: Vault, change: object
) -> None:
    state = signed_on(seeded, vault)
    with seeded.begin() as conn:
        change(conn, vault)  # type: ignore[operator]
    with seeded.begin() as conn:
        assert not touch_if_current(conn, state, T0 + timedelta(seconds=1))
        seen = conn.execute(sa.select(terminals.c.last_seen_at)).scalar_one()
    assert seen != T0 + timedelta(seconds=1), "a refused guard writes nothing"


async def test_lookup_sees_each_new_commit(ledger_url: str, vault: Vault) -> None:
    db = Database(create_engine_for(ledger_url), vault)
    await db.start()
    try:
        key = RequestKey(TID, 1, "000001", "0200")
        assert await db.lookup(lambda c: find_request(c, key)) is None
        await db.write(lambda c: (add_merchant(c, MID, "Shop"), add_terminal(c, vault, TID, MID)))
        await db.write(lambda c: store_request(c, key, "d" * 64, "00", "{}", T0))
        stored = await db.lookup(lambda c: find_request(c, key))
        assert stored is not None and stored.response_code == "00"
    finally:
        await db.close()


async def test_a_busy_sqlite_lookup_is_retried_in_a_worker_thread(
    sqlite_url: str, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the loop's own read meets a lock (after LOOKUP_BUSY_MS), a worker thread reads."""
    init_db(sqlite_url)
    db = Database(create_engine_for(sqlite_url), vault)
    await db.start()
    try:
        await db.write(lambda c: set_policy(c, "x", "y"))
        assert await db.lookup(lambda c: get_policy(c, "x", "unset")) == "y"
        threads: list[str] = []

        def busy_on_the_loop(conn: Connection) -> str:
            threads.append(threading.current_thread().name)
            if threading.current_thread() is threading.main_thread():
                raise exc.OperationalError("SELECT", {}, sqlite3.OperationalError("locked"))
            return get_policy(conn, "x", "unset")

        assert await db.lookup(busy_on_the_loop) == "y"
        assert threads[0] == threading.main_thread().name and len(threads) == 2
        assert threads[1] != threading.main_thread().name
        assert await db.lookup(lambda c: get_policy(c, "x", "unset")) == "y"  # a new connection
    finally:
        await db.close()

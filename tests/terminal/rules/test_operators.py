"""Operators: password hashing, log-in, lock-out, supervisor actions, the store's SQL contract."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from possettle.clock import FixedClock
from possettle.terminal.errors import JournalCorrupt, Refused
from possettle.terminal.operators import (
    OPERATOR_SCHEMA,
    Operator,
    OperatorStore,
    Password,
    Role,
    ScryptParams,
    hash_password,
    verify_password,
)

LOCKOUT = timedelta(minutes=15)


def stored_hash(conn: sqlite3.Connection, operator_id: str) -> str:
    row = conn.execute("SELECT password_hash FROM operators WHERE id = ?", (operator_id,))
    value: str = row.fetchone()[0]
    return value


def refusal(fn: Callable[..., Any], *args: Any) -> Refused:
    with pytest.raises(Refused) as info:
        fn(*args)
    return info.value


def test_a_new_operator_logs_in_with_its_password(store: OperatorStore) -> None:
    op = store.login("01", "1357")
    assert op == Operator("01", "Li Lei", Role.CASHIER, failed_attempts=0, locked_until=None)


def test_the_stored_hash_is_scrypt_and_not_the_password(
    store: OperatorStore, conn: sqlite3.Connection
) -> None:
    encoded = stored_hash(conn, "01")
    assert "1357" not in encoded
    kdf, n, r, p, salt, digest = encoded.split("$")
    assert (kdf, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32


def test_two_operators_with_the_same_password_get_different_hashes(
    store: OperatorStore, conn: sqlite3.Connection
) -> None:
    store.add("02", "Han Mei", Role.CASHIER, "1357")
    assert stored_hash(conn, "01") != stored_hash(conn, "02")
    assert store.login("02", "1357").id == "02"


def test_no_clear_password_anywhere_in_the_database(
    store: OperatorStore, conn: sqlite3.Connection
) -> None:
    store.add("02", "Han Mei", Role.CASHIER, Password("271828"))
    dump = "\n".join(conn.iterdump())
    for clear in ("9876", "1357", "271828"):
        assert clear not in dump


def test_a_password_and_an_operator_never_show_a_password_in_repr(store: OperatorStore) -> None:
    secret = Password("5150")
    assert repr(secret) == str(secret) == "Password(****)"
    shown = repr(store.login("01", Password("1357")))
    assert "1357" not in shown
    assert "scrypt" not in shown


def test_hashing_verifies_only_the_right_password() -> None:
    encoded = hash_password(Password("2468"), ScryptParams(n=2**10))
    assert verify_password("2468", encoded)
    assert not verify_password("2469", encoded)


@pytest.mark.parametrize(
    ("operator_id", "name", "password", "code"),
    [
        ("1", "Zhao", "4321", "input.operator_id"),
        ("1234", "Zhao", "4321", "input.operator_id"),
        ("a1", "Zhao", "4321", "input.operator_id"),
        ("٠١", "Zhao", "4321", "input.operator_id"),  # Arabic-Indic digits are not digits here
        ("03", "", "4321", "input.operator_name"),
        ("03", "   ", "4321", "input.operator_name"),
        ("03", "x" * 33, "4321", "input.operator_name"),
        ("03", "Zhao", "432", "operator.weak_password"),
        ("03", "Zhao", "0000", "operator.weak_password"),
        ("03", "Zhao", "9" * 65, "operator.weak_password"),
        ("01", "Zhao", "4321", "operator.exists"),
    ],
)
def test_adding_an_operator_is_refused_for(
    store: OperatorStore, operator_id: str, name: str, password: str, code: str
) -> None:
    err = refusal(store.add, operator_id, name, Role.CASHIER, password)
    assert err.code == code
    assert password not in str(err.as_dict())


@pytest.mark.parametrize(
    ("operator_id", "password", "code", "details"),
    [
        ("07", "1357", "operator.unknown", {"operator_id": "07"}),
        ("01", "9999", "operator.bad_password", {"failed_attempts": 1, "attempts_left": 2}),
        ("01", "", "operator.bad_password", {"failed_attempts": 1, "attempts_left": 2}),
        ("01", "13570", "operator.bad_password", {"failed_attempts": 1, "attempts_left": 2}),
    ],
)
def test_logging_in_is_refused_for(
    store: OperatorStore, operator_id: str, password: str, code: str, details: dict[str, Any]
) -> None:
    err = refusal(store.login, operator_id, password)
    assert err.code == code
    assert details.items() <= err.details.items()
    if password:
        assert password not in str(err.as_dict())


def test_wrong_passwords_count_down_and_the_third_locks_the_operator(
    store: OperatorStore, clock: FixedClock
) -> None:
    left = [refusal(store.login, "01", "0001").details["attempts_left"] for _ in range(2)]
    assert left == [2, 1]
    err = refusal(store.login, "01", "0001")
    assert err.code == "operator.locked"
    until = clock.now() + LOCKOUT
    assert err.details == {
        "operator_id": "01",
        "failed_attempts": 3,
        "until": until.isoformat(),
        "locked_now": True,
    }
    assert "15 min" in err.en
    assert store.get("01").locked_until == until


def test_a_locked_operator_is_refused_even_with_the_right_password(
    store: OperatorStore, clock: FixedClock
) -> None:
    for _ in range(3):
        refusal(store.login, "01", "0001")
    clock.advance(LOCKOUT.total_seconds() - 1)
    err = refusal(store.login, "01", "1357")
    assert err.code == "operator.locked"
    assert err.details["locked_now"] is False


def test_the_lock_out_ends_after_its_period(store: OperatorStore, clock: FixedClock) -> None:
    for _ in range(3):
        refusal(store.login, "01", "0001")
    clock.advance(LOCKOUT.total_seconds())
    assert store.login("01", "1357").failed_attempts == 0
    assert store.get("01").locked_until is None


def test_after_a_lock_out_the_operator_gets_a_fresh_set_of_attempts(
    store: OperatorStore, clock: FixedClock
) -> None:
    for _ in range(3):
        refusal(store.login, "01", "0001")
    clock.advance(LOCKOUT.total_seconds() + 60)
    err = refusal(store.login, "01", "0001")
    assert (err.code, err.details["attempts_left"]) == ("operator.bad_password", 2)


def test_a_successful_login_resets_the_failure_counter(store: OperatorStore) -> None:
    for _ in range(2):
        refusal(store.login, "01", "0001")
    store.login("01", "1357")
    for _ in range(2):
        assert refusal(store.login, "01", "0001").code == "operator.bad_password"


def test_the_number_of_attempts_and_the_lock_out_period_are_configurable(
    conn: sqlite3.Connection, clock: FixedClock, store: OperatorStore
) -> None:
    strict = OperatorStore(conn, clock, max_attempts=1, lockout=timedelta(hours=1))
    err = refusal(strict.login, "01", "0001")
    assert err.code == "operator.locked"
    clock.advance(3599)
    assert refusal(strict.login, "01", "1357").code == "operator.locked"
    clock.advance(1)
    assert strict.login("01", "1357").id == "01"


def test_a_supervisor_unlocks_a_locked_operator(store: OperatorStore) -> None:
    for _ in range(3):
        refusal(store.login, "01", "0001")
    boss = store.login("00", "9876")
    assert store.unlock(boss, "01").locked_until is None
    assert store.login("01", "1357").id == "01"


def test_a_supervisor_resets_a_password_which_also_unlocks(store: OperatorStore) -> None:
    for _ in range(3):
        refusal(store.login, "01", "0001")
    boss = store.login("00", "9876")
    store.reset_password(boss, "01", Password("8642"))
    assert store.login("01", "8642").failed_attempts == 0
    assert refusal(store.login, "01", "1357").code == "operator.bad_password"


def test_a_reset_password_must_follow_the_password_policy(store: OperatorStore) -> None:
    boss = store.login("00", "9876")
    assert refusal(store.reset_password, boss, "01", "12").code == "operator.weak_password"
    assert refusal(store.reset_password, boss, "09", "8642").code == "operator.unknown"


@pytest.mark.parametrize("action", ["unlock", "reset_password"])
def test_a_cashier_may_not_unlock_or_reset_passwords(store: OperatorStore, action: str) -> None:
    cashier = store.login("01", "1357")
    store.add("02", "Han Mei", Role.CASHIER, "2468")
    args: tuple[Any, ...] = (cashier, "02") + (("8642",) if action == "reset_password" else ())
    err = refusal(getattr(store, action), *args)
    assert (err.code, err.details["action"], err.details["role"]) == (
        "permission.role",
        action,
        "cashier",
    )


def test_a_forged_supervisor_object_does_not_give_supervisor_rights(store: OperatorStore) -> None:
    forged = Operator("01", "Li Lei", Role.SUPERVISOR)
    assert refusal(store.reset_password, forged, "00", "1111x").code == "permission.role"


def test_operators_are_listed_in_code_order(store: OperatorStore) -> None:
    store.add("100", "Sun Li", Role.CASHIER, "2468")
    store.add("02", "Han Mei", Role.SUPERVISOR, "2468")
    assert [(op.id, op.role) for op in store.list()] == [
        ("00", Role.SUPERVISOR),
        ("01", Role.CASHIER),
        ("02", Role.SUPERVISOR),
        ("100", Role.CASHIER),
    ]


def test_the_store_works_with_sqlite_row_factories(
    conn: sqlite3.Connection, store: OperatorStore
) -> None:
    conn.row_factory = sqlite3.Row
    assert store.login("01", "1357").name == "Li Lei"
    assert len(store.list()) == 2


def test_the_store_never_commits_the_callers_transaction(
    conn: sqlite3.Connection, clock: FixedClock
) -> None:
    store = OperatorStore(conn, clock)
    conn.execute("BEGIN IMMEDIATE")
    store.add("05", "Zhou", Role.CASHIER, "2468")
    assert conn.in_transaction
    conn.execute("ROLLBACK")
    assert store.list() == []


def test_a_refused_login_is_counted_once_the_caller_commits(
    tmp_path: Path, conn: sqlite3.Connection, store: OperatorStore, clock: FixedClock
) -> None:
    conn.execute("BEGIN IMMEDIATE")
    err = refusal(store.login, "01", "0001")
    conn.execute("COMMIT")  # the journal writes err.as_dict() and commits both
    assert err.code == "operator.bad_password"
    other = sqlite3.connect(tmp_path / "journal.db")
    try:
        assert OperatorStore(other, clock).get("01").failed_attempts == 1
    finally:
        other.close()


def test_the_schema_can_run_again_at_every_start_one_statement_at_a_time(
    conn: sqlite3.Connection, store: OperatorStore
) -> None:
    for _ in range(2):  # as the journal runs it: split on ";"
        for statement in OPERATOR_SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
    assert len(store.list()) == 2


def test_a_hash_with_older_cost_is_upgraded_at_the_next_login(
    conn: sqlite3.Connection, clock: FixedClock
) -> None:
    OperatorStore(conn, clock, kdf=ScryptParams(n=2**10)).add("03", "Qian", Role.CASHIER, "2468")
    assert stored_hash(conn, "03").startswith("scrypt$1024$")
    OperatorStore(conn, clock).login("03", "2468")
    assert stored_hash(conn, "03").startswith("scrypt$16384$8$1$")


@pytest.mark.parametrize(
    "bad_hash",
    [
        "2468",
        "bcrypt$2b$12$abc",
        "scrypt$1048576$32$1$AAAA$AAAA",  # a tampered row asking for 4 GiB
        "scrypt$1000$8$1$AAAA$AAAA",  # n must be a power of two
        "scrypt$16384$8$1$not base64!$AAAA",
    ],
)
def test_an_unreadable_password_hash_is_a_journal_error(
    conn: sqlite3.Connection, store: OperatorStore, bad_hash: str
) -> None:
    conn.execute("UPDATE operators SET password_hash = ? WHERE id = '01'", (bad_hash,))
    with pytest.raises(JournalCorrupt, match="operator 01"):
        store.login("01", "1357")

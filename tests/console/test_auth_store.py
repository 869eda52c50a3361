"""Console users and sessions on each ledger backend (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from possettle.console.auth import (
    add_user,
    authenticate,
    close_session,
    load_session,
    open_session,
    token_hash,
)
from possettle.console.errors import LoginRefused, UserExists, UserRejected
from possettle.ledger.engine import create_engine_for
from possettle.ledger.kinds import ConsoleRole
from possettle.ledger.migrate import init_db
from possettle.ledger.schema import console_sessions

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    init_db(db_url)
    engine = create_engine_for(db_url)
    add_user(engine, "ana", "pass-word-1", ConsoleRole.OPERATOR, T0)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("username", "password", "error", "message"),
    [
        ("ana", "pass-word-2", UserExists, "console user 'ana' already exists"),
        ("", "pass-word-2", UserRejected, "username must be 1 to 40 characters"),
        ("x" * 41, "pass-word-2", UserRejected, "username must be 1 to 40 characters"),
        ("bob", "short", UserRejected, "password must be at least 8 characters"),
    ],
    ids=["a taken name", "an empty name", "a name too long", "a password too short"],
)
def test_a_user_that_cannot_be_added_is_refused_in_the_consoles_own_terms(
    engine: sa.Engine, username: str, password: str, error: type[UserRejected], message: str
) -> None:
    with pytest.raises(UserRejected) as refused:
        add_user(engine, username, password, ConsoleRole.OPERATOR, T0)
    assert (type(refused.value), str(refused.value)) == (error, message)


def test_the_right_password_logs_in_and_resets_the_failure_count(engine: sa.Engine) -> None:
    with pytest.raises(LoginRefused):
        authenticate(engine, "ana", "nope-nope", T0)
    user = authenticate(engine, "ana", "pass-word-1", T0)
    assert (user.username, user.role) == ("ana", ConsoleRole.OPERATOR)
    for _ in range(4):  # the earlier failure was forgotten: four more do not lock
        with pytest.raises(LoginRefused) as refused:
            authenticate(engine, "ana", "nope-nope", T0)
        assert refused.value.locked_until is None


def test_the_fifth_failure_locks_for_fifteen_minutes(engine: sa.Engine) -> None:
    for _ in range(4):
        with pytest.raises(LoginRefused):
            authenticate(engine, "ana", "nope-nope", T0)
    with pytest.raises(LoginRefused) as refused:
        authenticate(engine, "ana", "nope-nope", T0)
    assert refused.value.locked_until == T0 + timedelta(minutes=15)
    with pytest.raises(LoginRefused):
        authenticate(engine, "ana", "pass-word-1", T0 + timedelta(minutes=14))
    assert authenticate(engine, "ana", "pass-word-1", T0 + timedelta(minutes=15, seconds=1))


def test_a_session_is_stored_by_its_hash_and_expires(engine: sa.Engine) -> None:
    user = authenticate(engine, "ana", "pass-word-1", T0)
    token = open_session(engine, user, T0, timedelta(hours=1))
    with engine.connect() as conn:
        stored = conn.execute(sa.select(console_sessions.c.token_hash)).scalars().all()
    assert stored == [token_hash(token)] and token not in stored
    live = load_session(engine, token, T0 + timedelta(minutes=59))
    assert live is not None and live.user == user and len(live.csrf_token) > 30
    assert load_session(engine, token, T0 + timedelta(hours=1)) is None
    assert load_session(engine, "forged", T0) is None
    close_session(engine, token)
    assert load_session(engine, token, T0) is None


def test_roles_are_ordered(engine: sa.Engine) -> None:
    user = authenticate(engine, "ana", "pass-word-1", T0)
    assert user.can(ConsoleRole.VIEWER) and user.can(ConsoleRole.OPERATOR)
    assert not user.can(ConsoleRole.ADMIN)

"""Console users, their sessions and CSRF tokens, kept in the ledger (console_users/sessions).

Why it is built this way:

* Passwords use the terminal's scrypt format (:func:`possettle.terminal.operators.hash_password`),
  so there is one KDF to review in the project.
* After :data:`MAX_FAILURES` wrong passwords an account locks for :data:`LOCK_FOR`; the lock
  is a timestamp, so it ends by itself and survives restarts. An unknown user costs a hash
  too, so timing does not tell which usernames exist.
* The session cookie carries a random token; the database keeps only its SHA-256, so a copy
  of the ledger does not hand out live sessions. Each session has its own CSRF token that
  every state-changing request must echo (form field or ``X-CSRF-Token`` header).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from possettle.console.errors import LoginRefused, UserExists, UserRejected
from possettle.ledger.kinds import ConsoleRole
from possettle.ledger.schema import console_sessions, console_users
from possettle.terminal.operators import hash_password, verify_password

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)
# Verified against when the username is unknown, so both paths cost one scrypt.
_DUMMY_HASH = hash_password("possettle-no-such-user")
_RANK = {ConsoleRole.VIEWER: 0, ConsoleRole.OPERATOR: 1, ConsoleRole.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: ConsoleRole

    def can(self, needed: ConsoleRole) -> bool:
        """Roles are ordered: admin may do what operator may, operator what viewer may."""
        return _RANK[self.role] >= _RANK[needed]


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    engine: Engine, username: str, password: str, role: ConsoleRole, now: datetime
) -> None:
    """Create a console user (``possettle console user add``); a duplicate name is refused
    (:class:`UserExists`), as is a name or password outside the rules (:class:`UserRejected`)."""
    if not username or len(username) > 40:
        raise UserRejected.said("console.username_length")
    if len(password) < 8:
        raise UserRejected.said("console.password_short")
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(console_users).values(
                    username=username, password_hash=hash_password(password),
                    role=ConsoleRole(role).value, created_at=now,
                )
            )  # fmt: skip
    except exc.IntegrityError as e:
        raise UserExists.said("console.user_exists", username=repr(username)) from e


def list_users(engine: Engine) -> list[dict[str, object]]:
    u = console_users.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(u.username, u.role, u.failed_attempts, u.locked_until).order_by(u.username)
        ).all()
    return [
        {"username": r.username, "role": r.role, "failed_attempts": r.failed_attempts,
         "locked_until": r.locked_until.isoformat() if r.locked_until else None}
        for r in rows
    ]  # fmt: skip


def authenticate(engine: Engine, username: str, password: str, now: datetime) -> User:
    """The user if the password is right and the account is not locked; else LoginRefused."""
    u = console_users.c
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(u.password_hash, u.role, u.failed_attempts, u.locked_until).where(
                u.username == username
            )
        ).first()
        if row is None:
            verify_password(password, _DUMMY_HASH)
            raise LoginRefused()
        if row.locked_until is not None and row.locked_until > now:
            raise LoginRefused(row.locked_until)
        if verify_password(password, row.password_hash):
            conn.execute(
                sa.update(console_users)
                .where(u.username == username)
                .values(failed_attempts=0, locked_until=None)
            )
            return User(username, ConsoleRole(row.role))
        failures = row.failed_attempts + 1
        locked = now + LOCK_FOR if failures >= MAX_FAILURES else None
        conn.execute(
            sa.update(console_users)
            .where(u.username == username)
            .values(failed_attempts=0 if locked else failures, locked_until=locked)
        )
    raise LoginRefused(locked)


def open_session(engine: Engine, user: User, now: datetime, ttl: timedelta = SESSION_TTL) -> str:
    """A new session for ``user``; returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.expires_at <= now))
        conn.execute(
            sa.insert(console_sessions).values(
                token_hash=token_hash(token), username=user.username,
                csrf_token=secrets.token_urlsafe(32), created_at=now, expires_at=now + ttl,
            )
        )  # fmt: skip
    return token


def load_session(engine: Engine, token: str | None, now: datetime) -> Session | None:
    """The live session behind a cookie token, or None (missing, unknown or expired)."""
    if not token:
        return None
    s, u = console_sessions.c, console_users.c
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(s.csrf_token, s.expires_at, u.username, u.role)
            .join(console_users, u.username == s.username)
            .where(s.token_hash == token_hash(token))
        ).first()
    if row is None or row.expires_at <= now:
        return None
    return Session(User(row.username, ConsoleRole(row.role)), row.csrf_token, row.expires_at)


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as conn:
            s = console_sessions.c
            conn.execute(sa.delete(console_sessions).where(s.token_hash == token_hash(token)))


def csrf_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with the one the request sent."""
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())

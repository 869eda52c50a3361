"""Terminal operators: who may use the POS, with a password and a role.

An operator is identified by the 2–3 digit code that the terminal sends in field 63 of a
sign-on (ans3). Passwords are hashed with scrypt (a memory-hard KDF) and a random salt, and
stored as a self-describing string, so the cost can be raised later without breaking old
rows: a successful login re-hashes a password stored with other parameters.

Repeated wrong passwords lock the operator for a while; a supervisor can unlock an operator
or reset a password. Every refusal is a :class:`~possettle.terminal.errors.Refused` (codes
``operator.*``, ``input.operator_*``, ``permission.role``) that the caller journals.

:class:`OperatorStore` works on a ``sqlite3.Connection`` it is handed and never commits: the
journal opens ``BEGIN IMMEDIATE`` around each call. A login refused for a wrong password has
already counted the failure, so the caller must **commit, not roll back**, after catching
that ``Refused`` — otherwise the lock-out never triggers.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from possettle.clock import Clock
from possettle.terminal.errors import JournalCorrupt, Refused

# The journal runs this at every start, splitting it on ";" (so none inside a statement).
OPERATOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS operators (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('cashier', 'supervisor')),
    password_hash   TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_until    TEXT,
    created_at      TEXT NOT NULL,
    password_set_at TEXT NOT NULL
);
"""

_SELECT = "SELECT id, name, role, failed_attempts, locked_until, password_hash FROM operators"
_ID_RE = re.compile(r"^[0-9]{2,3}$")
MIN_PASSWORD, MAX_PASSWORD = 4, 64
MAX_NAME = 32


class Role(StrEnum):
    CASHIER = "cashier"
    SUPERVISOR = "supervisor"

    @property
    def zh(self) -> str:
        return {"cashier": "收银员", "supervisor": "主管"}[self.value]


@dataclass(frozen=True, eq=False, repr=False)
class Password:
    """A clear password in transit from the keypad to the KDF; it never shows itself."""

    clear: str

    def __repr__(self) -> str:
        return "Password(****)"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """scrypt cost: n=2**14, r=8, p=1 uses 16 MiB and about 50 ms per hash on a PC."""

    n: int = 2**14
    r: int = 8
    p: int = 1


DEFAULT_SCRYPT = ScryptParams()


def hash_password(password: Password | str, params: ScryptParams = DEFAULT_SCRYPT) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(_clear(password), salt, params.n, params.r, params.p)
    return "$".join(
        ["scrypt", str(params.n), str(params.r), str(params.p), _b64(salt), _b64(digest)]
    )


def verify_password(password: Password | str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``; ``ValueError`` if ``encoded`` is not ours."""
    n, r, p, salt, expected = _parse_hash(encoded)
    return hmac.compare_digest(_scrypt(_clear(password), salt, n, r, p), expected)


def _parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("password hash is not in the form scrypt$n$r$p$salt$hash")
    n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
    # Bounds keep a tampered row from asking for more than 256 MiB or minutes of work.
    if not (n >= 2 and n & (n - 1) == 0 and r >= 1 and n * r <= 2**21 and 1 <= p <= 16):
        raise ValueError(f"password hash has out-of-range scrypt cost n={n} r={r} p={p}")
    return n, r, p, _unb64(parts[4]), _unb64(parts[5])


def _scrypt(clear: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        clear.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n + 2**20, dklen=32
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _clear(password: Password | str) -> str:
    return password.clear if isinstance(password, Password) else password


@dataclass(frozen=True, slots=True)
class Operator:
    """An operator as the store knows it; the password hash never leaves the store."""

    id: str
    name: str
    role: Role
    failed_attempts: int = 0
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def check_password_policy(password: Password | str) -> None:
    """4 to 64 characters, not one character repeated.

    Four is the floor because POS keypads are numeric and operators use short PINs; the
    lock-out after a few wrong tries, not the length, is what stops guessing at the keypad.
    """
    clear = _clear(password)
    if not MIN_PASSWORD <= len(clear) <= MAX_PASSWORD:
        raise Refused(
            "operator.weak_password",
            f"The password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long "
            f"(it has {len(clear)}).",
            f"密码长度须为 {MIN_PASSWORD} 至 {MAX_PASSWORD} 位（当前 {len(clear)} 位）。",
            reason="length",
            length=len(clear),
        )
    if len(set(clear)) == 1:
        raise Refused(
            "operator.weak_password",
            "The password must not be one character repeated.",
            "密码不能由同一个字符重复组成。",
            reason="repeated",
        )


class OperatorStore:
    """Operators in the journal's SQLite database (table ``operators``)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        clock: Clock,
        max_attempts: int = 3,
        lockout: timedelta = timedelta(minutes=15),
        kdf: ScryptParams = DEFAULT_SCRYPT,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._conn = conn
        self._clock = clock
        self._max_attempts = max_attempts
        self._lockout = lockout
        self._kdf = kdf

    def add(self, id: str, name: str, role: Role, password: Password | str) -> Operator:
        _check_id(id)
        if not name.strip() or len(name) > MAX_NAME:
            raise Refused(
                "input.operator_name",
                f"The operator name must be 1 to {MAX_NAME} characters.",
                f"操作员姓名须为 1 至 {MAX_NAME} 个字符。",
                length=len(name),
            )
        check_password_policy(password)
        if self._row(id) is not None:
            raise Refused(
                "operator.exists",
                f"Operator {id} already exists.",
                f"操作员 {id} 已存在。",
                operator_id=id,
            )
        now = self._clock.now().isoformat()
        self._conn.execute(
            "INSERT INTO operators (id, name, role, password_hash, created_at, password_set_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (id, name, Role(role).value, hash_password(password, self._kdf), now, now),
        )
        return Operator(id, name, Role(role))

    def get(self, id: str) -> Operator:
        row = self._row(id)
        if row is None:
            raise _unknown(id)
        return _operator(row)

    def list(self) -> builtins.list[Operator]:
        rows = self._conn.execute(f"{_SELECT} ORDER BY id").fetchall()
        return [_operator(tuple(row)) for row in rows]

    def login(self, id: str, password: Password | str) -> Operator:
        """The operator, if ``password`` is right and the operator is not locked."""
        row = self._row(id)
        if row is None:
            # Operator codes are printed on every slip, so telling "unknown" from "wrong
            # password" gives nothing away.
            raise _unknown(id)
        op, stored = _operator(row), str(row[5])
        now = self._clock.now()
        if op.is_locked(now):
            raise _locked(op, now, locked_now=False)
        if op.locked_until is not None:
            # The lock-out has run out: a fresh set of attempts.
            op = replace(op, failed_attempts=0, locked_until=None)
        try:
            ok = verify_password(password, stored)
        except ValueError as exc:
            raise JournalCorrupt(f"operator {id}: unreadable password hash: {exc}") from exc
        if ok:
            op = replace(op, failed_attempts=0, locked_until=None)
            if ScryptParams(*_parse_hash(stored)[:3]) != self._kdf:
                self._set_hash(id, hash_password(password, self._kdf))
            self._save_attempts(op)
            return op
        failed = op.failed_attempts + 1
        if failed >= self._max_attempts:
            op = replace(op, failed_attempts=failed, locked_until=now + self._lockout)
            self._save_attempts(op)
            raise _locked(op, now, locked_now=True)
        op = replace(op, failed_attempts=failed)
        self._save_attempts(op)
        left = self._max_attempts - failed
        raise Refused(
            "operator.bad_password",
            f"Wrong password for operator {id}; {left} attempt(s) left before it is locked.",
            f"操作员 {id} 密码错误，再错 {left} 次将被锁定。",
            operator_id=id,
            failed_attempts=failed,
            attempts_left=left,
        )

    def reset_password(self, by: Operator, id: str, new_password: Password | str) -> None:
        """A supervisor sets a new password; this also unlocks the operator."""
        self._require_supervisor(by, "reset_password")
        check_password_policy(new_password)
        self.get(id)
        self._conn.execute(
            "UPDATE operators SET password_hash = ?, password_set_at = ?, failed_attempts = 0,"
            " locked_until = NULL WHERE id = ?",
            (hash_password(new_password, self._kdf), self._clock.now().isoformat(), id),
        )

    def unlock(self, by: Operator, id: str) -> Operator:
        self._require_supervisor(by, "unlock")
        op = replace(self.get(id), failed_attempts=0, locked_until=None)
        self._save_attempts(op)
        return op

    def _require_supervisor(self, by: Operator, action: str) -> None:
        # Trust the stored role, not the Operator object handed in.
        current = self.get(by.id)
        if current.role is not Role.SUPERVISOR or current.is_locked(self._clock.now()):
            raise Refused(
                "permission.role",
                f"Only a supervisor may {action.replace('_', ' ')}; operator {by.id} is a "
                f"{current.role.value}.",
                f"仅主管可执行此操作（{_ACTION_ZH[action]}）；操作员 {by.id} 是{current.role.zh}。",
                operator_id=by.id,
                role=current.role.value,
                action=action,
            )

    def _row(self, id: str) -> tuple[Any, ...] | None:
        row = self._conn.execute(f"{_SELECT} WHERE id = ?", (id,)).fetchone()
        return None if row is None else tuple(row)

    def _set_hash(self, id: str, encoded: str) -> None:
        self._conn.execute("UPDATE operators SET password_hash = ? WHERE id = ?", (encoded, id))

    def _save_attempts(self, op: Operator) -> None:
        until = None if op.locked_until is None else op.locked_until.isoformat()
        self._conn.execute(
            "UPDATE operators SET failed_attempts = ?, locked_until = ? WHERE id = ?",
            (op.failed_attempts, until, op.id),
        )


_ACTION_ZH = {"reset_password": "重置密码", "unlock": "解锁操作员"}


def _check_id(id: str) -> None:
    if not _ID_RE.match(id):
        raise Refused(
            "input.operator_id",
            f"The operator code must be 2 or 3 digits, got {id[:8]!r}.",
            f"操作员号须为 2 至 3 位数字，输入为 {id[:8]!r}。",
            operator_id=id[:8],
        )


def _operator(row: tuple[Any, ...]) -> Operator:
    id, name, role, failed, until = row[:5]
    return Operator(
        id=id,
        name=name,
        role=Role(role),
        failed_attempts=failed,
        locked_until=None if until is None else datetime.fromisoformat(until),
    )


def _unknown(id: str) -> Refused:
    return Refused(
        "operator.unknown",
        f"There is no operator {id[:8]!r} on this terminal.",
        f"本终端没有操作员 {id[:8]!r}。",
        operator_id=id[:8],
    )


def _locked(op: Operator, now: datetime, *, locked_now: bool) -> Refused:
    assert op.locked_until is not None
    until = op.locked_until.strftime("%Y-%m-%d %H:%M %Z").strip()
    minutes = max(1, -(-int((op.locked_until - now).total_seconds()) // 60))
    en = f"operator {op.id} is locked until {until} (about {minutes} min)"
    en += "; a supervisor can unlock it."
    zh = f"操作员 {op.id} 已锁定至 {until}（约 {minutes} 分钟），可由主管解锁。"
    if locked_now:
        en = f"{op.failed_attempts} wrong passwords: {en}"
        zh = f"密码连续错误 {op.failed_attempts} 次，{zh}"
    return Refused(
        "operator.locked",
        en[0].upper() + en[1:],
        zh,
        operator_id=op.id,
        failed_attempts=op.failed_attempts,
        until=op.locked_until.isoformat(),
        locked_now=locked_now,
    )

"""The audit log of console actions: append-only, each row chained to the one before by hash.

Each row's ``hash`` is the SHA-256 of its content (when, who, what, on what, the detail)
and the previous row's ``hash``; the first row's ``prev_hash`` is 64 zeros. Editing any field
of a row breaks its own hash; deleting a row breaks the next row's ``prev_hash``; so
:func:`verify` names the first row that no longer fits. Deleting the newest rows leaves a
shorter valid chain: keep the :func:`head` hash somewhere else (a ticket, a log line) to
catch that.

>>> engine = sa.create_engine("sqlite://")
>>> audit_log.metadata.create_all(engine, tables=[audit_log])
>>> with engine.begin() as conn:
...     entry = record(conn, "alice", "alert.ack", "alert:7", {"note": "on it"},
...                    datetime(2026, 1, 1, tzinfo=UTC))
...     verify(conn), entry.prev_hash == GENESIS, head(conn) == entry.hash
((True, None), True, True)
>>> engine.dispose()
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.ledger.schema import audit_log
from possettle.monitor.errors import AuditError
from possettle.monitor.store import lock

GENESIS = "0" * 64
# The audit writer's own lock key ("PSAU"), apart from the alert engine's.
_PG_LOCK_KEY = 0x5053_4155
_LIMITS = {"actor": 40, "action": 40, "target": 60}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: str
    prev_hash: str
    hash: str


def _canonical_detail(detail: str | Mapping[str, Any]) -> str:
    if isinstance(detail, str):
        return detail
    return json.dumps(detail, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _stamp(at: datetime) -> str:
    # microseconds survive both SQLite and PostgreSQL, so the stored value re-hashes equal
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    at: datetime, actor: str, action: str, target: str, detail: str, prev_hash: str
) -> str:
    """The SHA-256 (hex) of a row's content and its predecessor's hash.

    The content is a JSON array, so no field can bleed into the next ("ab"+"c" is not
    "a"+"bc").
    """
    content = json.dumps(
        [_stamp(at), actor, action, target, detail, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def head(conn: Connection) -> str:
    """The hash of the newest row (:data:`GENESIS` for an empty log)."""
    last = conn.execute(
        sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
    ).scalar_one_or_none()
    return str(last) if last is not None else GENESIS


def record(
    conn: Connection,
    actor: str,
    action: str,
    target: str,
    detail: str | Mapping[str, Any],
    at: datetime,
) -> AuditEntry:
    """Append one entry in the caller's transaction (so the action and its record commit
    together). ``detail`` may be text or a JSON-able mapping (stored as canonical JSON);
    callers keep card data out of it, as everywhere."""
    for name, value in (("actor", actor), ("action", action), ("target", target)):
        if not value.strip():
            raise AuditError(f"audit {name} is empty")
        if len(value) > _LIMITS[name]:
            raise AuditError(f"audit {name} {value[:20]!r}… is over {_LIMITS[name]} characters")
    if at.tzinfo is None:
        raise AuditError("audit time must be timezone-aware (use the injected clock)")
    text = _canonical_detail(detail)
    # two writers must not both chain onto the same predecessor
    lock(conn, _PG_LOCK_KEY)
    prev = head(conn)
    digest = entry_hash(at, actor, action, target, text, prev)
    new_id = conn.execute(
        sa.insert(audit_log)
        .values(at=at, actor=actor, action=action, target=target, detail=text,
                prev_hash=prev, hash=digest)
        .returning(audit_log.c.id)
    ).scalar_one()  # fmt: skip
    return AuditEntry(int(new_id), at, actor, action, target, text, prev, digest)


def entries(conn: Connection, *, limit: int | None = None) -> list[AuditEntry]:
    """Oldest first (``limit`` takes the newest ones, still oldest first)."""
    stmt = sa.select(audit_log).order_by(audit_log.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [
        AuditEntry(int(r.id), r.at, r.actor, r.action, r.target, r.detail, r.prev_hash, r.hash)
        for r in conn.execute(stmt)
    ]
    return rows[::-1]


def verify(conn: Connection) -> tuple[bool, int | None]:
    """Walk the chain oldest first: ``(True, None)``, or ``(False, id of the first bad row)``.

    A row is bad if its own hash does not match its content, or its ``prev_hash`` is not the
    hash of the row before it (a row was deleted, inserted or re-ordered).
    """
    expected_prev = GENESIS
    for row in conn.execute(sa.select(audit_log).order_by(audit_log.c.id)):
        recomputed = entry_hash(
            row.at, row.actor, row.action, row.target, row.detail, row.prev_hash
        )
        if row.prev_hash != expected_prev or row.hash != recomputed:
            return False, int(row.id)
        expected_prev = row.hash
    return True, None

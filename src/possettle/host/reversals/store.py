"""The ``upstream_reversals`` rows: every function here is one step inside a ledger transaction.

Several host processes may share one ledger, so every change of a row is a compare-and-set
(``UPDATE ... WHERE state = ... AND lease ...``) whose row count says whether it happened: a
claim holds only where no other process holds a live lease, an attempt is recorded only by
the lease holder while the row is still pending, so a reversal is acknowledged exactly once.
On PostgreSQL a concurrent UPDATE of the same row waits for the first to commit and then
re-checks its WHERE clause; on SQLite the one writer serialises everything.

The original request (with its PAN) is stored sealed with the vault, bound to the RRN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.cards import mask_pan
from possettle.crypto.vault import Vault
from possettle.host.reversals.machine import (
    NO_ANSWER_REASON,
    ORPHAN_REASON,
    RETRY_CODES,
    Step,
    check_transition,
)
from possettle.ledger.kinds import ReversalState
from possettle.ledger.queries import dialect_insert
from possettle.ledger.raw import RawStatement
from possettle.ledger.schema import upstream_reversals
from possettle.ledger.terminal_state import record_event
from possettle.upstream.connector import AuthRequest, SentRequest

ur = upstream_reversals.c
INTENT, PENDING, ACKNOWLEDGED = (
    ReversalState.INTENT,
    ReversalState.PENDING,
    ReversalState.ACKNOWLEDGED,
)


def _aad(rrn: str) -> bytes:
    return f"upstream_reversal:{rrn}".encode()


@dataclass(frozen=True, slots=True)
class NewReversal:
    """What the host knows of one upstream request when it writes its row."""

    auth: AuthRequest
    original: SentRequest
    issuer: str

    @property
    def rrn(self) -> str:
        return self.auth.rrn

    def values(self, vault: Vault, now: datetime) -> dict[str, object]:
        a = self.auth
        return {
            "rrn": a.rrn,
            "issuer": self.issuer[:200],
            "tid": a.tid,
            "stan": a.stan,
            "kind": a.kind.value,
            "amount": a.amount.minor,
            "currency": a.amount.currency,
            "pan_masked": mask_pan(a.pan),
            "original_sealed": vault.seal(self.original.to_bytes(), _aad(a.rrn)),
            "created_at": now,
            "updated_at": now,
        }


@dataclass(frozen=True, slots=True)
class Claimed:
    """A pending reversal this process holds the lease on: send it, then record the attempt."""

    id: int
    rrn: str
    reason: str
    auth_code: str | None
    attempts: int
    original_sealed: bytes

    def original(self, vault: Vault) -> SentRequest:
        return SentRequest.from_bytes(vault.open(self.original_sealed, _aad(self.rrn)))


@dataclass(frozen=True, slots=True)
class ReversalRow:
    """One row as the doctor, the console and the tests see it (no card data)."""

    rrn: str
    state: ReversalState
    reason: str | None
    tid: str
    stan: str
    amount: int
    pan_masked: str
    attempts: int
    last_outcome: str | None
    response_code: str | None
    late_reply_code: str | None
    acknowledged_by: str | None


# --------------------------------------------------------------------------- the request path


# Every financial request runs these two: compiled once, run on the DBAPI cursor (raw.py).
_INTENT_COLUMNS = (
    "rrn", "issuer", "tid", "stan", "kind", "amount", "currency", "pan_masked",
    "original_sealed", "created_at", "updated_at", "state", "lease_owner", "lease_until",
)  # fmt: skip
_INSERT_INTENT = RawStatement(
    sa.insert(upstream_reversals).values({c: sa.bindparam(c) for c in _INTENT_COLUMNS})
)
_DELETE_INTENT = RawStatement(
    sa.delete(upstream_reversals).where(
        ur.rrn == sa.bindparam("rrn"),
        ur.state == INTENT.value,
        ur.lease_owner == sa.bindparam("owner"),
    )
)


def write_intent(
    conn: Connection,
    vault: Vault,
    new: NewReversal,
    owner: str,
    now: datetime,
    lease_until: datetime,
) -> None:
    """Before the request goes out: its intent, leased to this process until ``lease_until``."""
    values = new.values(vault, now) | {
        "state": INTENT.value,
        "lease_owner": owner,
        "lease_until": lease_until,
    }
    _INSERT_INTENT.rowcount(conn, values)


def take_intent(conn: Connection, rrn: str, owner: str) -> bool:
    """Delete the intent if it is still ``owner``'s; False when another process (or a late
    reply) has made it a reversal meanwhile."""
    return _DELETE_INTENT.rowcount(conn, {"rrn": rrn, "owner": owner}) == 1


def settle_intent(
    conn: Connection,
    vault: Vault,
    new: NewReversal,
    owner: str,
    reason: str | None,
    now: datetime,
    auth_code: str | None = None,
) -> bool:
    """In the commit that stores the host's answer: drop the intent, or make it a reversal.

    ``reason`` None: the answer stands, nothing to undo — the intent is deleted (if it is
    still ours). Otherwise the row becomes (or already is) a pending reversal. Returns True
    when a pending reversal exists afterwards.
    """
    if reason is None:
        take_intent(conn, new.rrn, owner)
        return False
    ensure_pending(conn, vault, new, reason, now, auth_code)
    return True


def ensure_pending(
    conn: Connection,
    vault: Vault,
    new: NewReversal,
    reason: str,
    now: datetime,
    auth_code: str | None = None,
) -> None:
    """Make sure a reversal of ``new`` is pending or done (idempotent, never a second row)."""
    check_transition(INTENT, PENDING)
    conn.execute(
        sa.update(upstream_reversals)
        .where(ur.rrn == new.rrn, ur.state == INTENT.value)
        .values(
            state=PENDING.value,
            reason=reason,
            auth_code=sa.func.coalesce(ur.auth_code, auth_code),
            next_attempt_at=now,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )
    )
    values = new.values(vault, now) | {
        "state": PENDING.value,
        "reason": reason,
        "auth_code": auth_code,
        "next_attempt_at": now,
    }
    stmt = dialect_insert(conn, upstream_reversals).values(**values)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[ur.rrn]))


# --------------------------------------------------------------------------- the sender


def claim_due(
    conn: Connection, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[Claimed]:
    """Lease up to ``limit`` reversals that are due (and intents whose host died) to ``owner``.

    An intent whose lease ran out belongs to a request its host never answered (it died or
    hung): it becomes a pending reversal with reason ``96`` here.
    """
    free = sa.or_(ur.lease_until.is_(None), ur.lease_until < now)
    due = sa.or_(
        sa.and_(ur.state == PENDING.value, ur.next_attempt_at <= now),
        sa.and_(ur.state == INTENT.value, ur.lease_until < now),
    )
    candidates = conn.execute(
        sa.select(ur.id, ur.state).where(due, free).order_by(ur.next_attempt_at, ur.id).limit(limit)
    ).all()
    claimed: list[int] = []
    for row in candidates:
        change: dict[str, object] = {
            "lease_owner": owner,
            "lease_until": now + lease,
            "updated_at": now,
        }
        if row.state == INTENT:
            check_transition(INTENT, PENDING)
            change |= {"state": PENDING.value, "reason": ORPHAN_REASON, "next_attempt_at": now}
        won = conn.execute(
            sa.update(upstream_reversals)
            .where(ur.id == row.id, ur.state == row.state, free)
            .values(**change)
        ).rowcount
        if won == 1:
            claimed.append(int(row.id))
    if not claimed:
        return []
    rows = conn.execute(
        sa.select(ur.id, ur.rrn, ur.reason, ur.auth_code, ur.attempts, ur.original_sealed)
        .where(ur.id.in_(claimed))
        .order_by(ur.id)
    ).all()
    return [
        Claimed(
            int(r.id),
            r.rrn,
            r.reason or NO_ANSWER_REASON,
            r.auth_code,
            r.attempts,
            r.original_sealed,
        )
        for r in rows
    ]


def record_attempt(conn: Connection, rev: Claimed, owner: str, step: Step, now: datetime) -> bool:
    """Store an attempt's step; False when the lease was lost (nothing is changed then)."""
    values: dict[str, object] = {
        "state": step.state.value,
        "attempts": step.attempts,
        "next_attempt_at": step.next_attempt_at,
        "last_outcome": step.last_outcome[:80],
        "response_code": step.response_code,
        "lease_owner": None,
        "lease_until": None,
        "updated_at": now,
    }
    if step.done:
        values |= {"acknowledged_at": now, "acknowledged_by": owner}
    done = conn.execute(
        sa.update(upstream_reversals)
        .where(ur.id == rev.id, ur.state == PENDING.value, ur.lease_owner == owner)
        .values(**values)
    ).rowcount
    return bool(done == 1)


def next_due(conn: Connection) -> datetime | None:
    """When the next reversal becomes due or a lease runs out (None: nothing outstanding)."""
    open_states = (INTENT.value, PENDING.value)
    attempt = sa.select(sa.func.min(ur.next_attempt_at)).where(
        ur.state == PENDING.value, ur.lease_until.is_(None)
    )
    lease = sa.select(sa.func.min(ur.lease_until)).where(ur.state.in_(open_states))
    times = [conn.execute(attempt).scalar(), conn.execute(lease).scalar()]
    known = [t for t in times if t is not None]
    return min(known) if known else None


# --------------------------------------------------------------------------- late replies


def note_late_reply(
    conn: Connection,
    mti: str,
    rrn: str,
    code: str,
    auth_code: str | None,
    owner: str,
    now: datetime,
) -> ReversalState | None:
    """Record a reply that came after its request timed out; the row's state afterwards.

    A late 0210/0230 makes sure the reversal exists (it can arrive before the commit of the
    ``98``: an intent becomes pending here) and keeps the authorization code for field 38.
    A late 0410 with a final code acknowledges the reversal it answers.
    """
    row = conn.execute(sa.select(ur.id, ur.state, ur.tid).where(ur.rrn == rrn)).first()
    detail = json.dumps({"rrn": rrn, "mti": mti, "code": code})
    tid = None if row is None else row.tid
    record_event(conn, now, "upstream_late_reply", tid=tid, code=code, detail=detail)
    if row is None:
        return None
    state = ReversalState(row.state)
    if mti == "0410":
        if state is PENDING and code not in RETRY_CODES:
            check_transition(PENDING, ACKNOWLEDGED)
            conn.execute(
                sa.update(upstream_reversals)
                .where(ur.id == row.id, ur.state == PENDING.value)
                .values(
                    state=ACKNOWLEDGED.value,
                    response_code=code,
                    last_outcome=f"late 0410 ({code})",
                    acknowledged_at=now,
                    acknowledged_by=owner[:80],
                    updated_at=now,
                )
            )
            return ACKNOWLEDGED
        return state
    values: dict[str, object] = {"late_reply_code": code, "updated_at": now}
    if auth_code is not None:
        values["auth_code"] = sa.func.coalesce(ur.auth_code, auth_code)
    if state is INTENT:
        check_transition(INTENT, PENDING)
        values |= {
            "state": PENDING.value,
            "reason": NO_ANSWER_REASON,
            "next_attempt_at": now,
            "lease_owner": None,
            "lease_until": None,
        }
        state = PENDING
    conn.execute(sa.update(upstream_reversals).where(ur.id == row.id).values(**values))
    return state


# --------------------------------------------------------------------------- reading


def list_reversals(conn: Connection, state: ReversalState | None = None) -> list[ReversalRow]:
    query = sa.select(upstream_reversals).order_by(ur.id)
    if state is not None:
        query = query.where(ur.state == state.value)
    return [
        ReversalRow(
            r.rrn,
            ReversalState(r.state),
            r.reason,
            r.tid,
            r.stan,
            int(r.amount),
            r.pan_masked,
            int(r.attempts),
            r.last_outcome,
            r.response_code,
            r.late_reply_code,
            r.acknowledged_by,
        )
        for r in conn.execute(query)
    ]

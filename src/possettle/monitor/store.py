"""Stored alerts: reading them, acknowledging with a note, resolving by hand.

Kept apart from the engine (:mod:`.alerts`) because the console needs only these: list the
incidents, acknowledge one (who, when, why), resolve one. Every function takes a connection
so the caller can record the audit entry in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from possettle.ledger.kinds import AlertStatus
from possettle.ledger.schema import alerts
from possettle.monitor.errors import AlertError

# Serialises alert engines (and audit writers) on PostgreSQL; SQLite's BEGIN IMMEDIATE
# already does. An arbitrary constant: "PSAL".
_PG_LOCK_KEY = 0x5053_414C
USER_MAX = 40  # alerts.ack_by, audit_log.actor and console_users.username are String(40)


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    rule: str
    cause: str
    severity: str
    incident_key: str
    status: AlertStatus
    summary_en: str
    summary_zh: str
    terminals: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    notified_at: datetime | None
    ack_by: str | None
    ack_note: str | None
    ack_at: datetime | None
    resolved_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (datetimes as ISO 8601 text)."""
        data = asdict(self)
        data["status"] = self.status.value
        data["terminals"] = list(self.terminals)
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def lock(conn: Connection, key: int = _PG_LOCK_KEY) -> None:
    """Take the transaction-scoped lock that keeps two writers from racing (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def to_alert(row: Row[Any]) -> Alert:
    try:
        tids = tuple(str(t) for t in json.loads(row.terminals))
    except (TypeError, ValueError):
        tids = ()
    return Alert(
        id=int(row.id), rule=row.rule, cause=row.cause, severity=row.severity,
        incident_key=row.incident_key, status=AlertStatus(row.status),
        summary_en=row.summary_en, summary_zh=row.summary_zh, terminals=tids,
        first_at=row.first_at, last_at=row.last_at, notified_at=row.notified_at,
        ack_by=row.ack_by, ack_note=row.ack_note, ack_at=row.ack_at, resolved_at=row.resolved_at,
    )  # fmt: skip


def list_alerts(
    conn: Connection, *, statuses: Collection[AlertStatus] | None = None, limit: int = 200
) -> list[Alert]:
    """Newest first; ``statuses`` narrows it (e.g. open and acknowledged for "current")."""
    stmt = sa.select(alerts).order_by(alerts.c.last_at.desc(), alerts.c.id.desc()).limit(limit)
    if statuses is not None:
        stmt = stmt.where(alerts.c.status.in_([s.value for s in statuses]))
    return [to_alert(r) for r in conn.execute(stmt)]


def get_alert(conn: Connection, alert_id: int) -> Alert:
    row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).one_or_none()
    if row is None:
        raise AlertError(f"no alert with id {alert_id}")
    return to_alert(row)


def acknowledge(conn: Connection, alert_id: int, *, by: str, note: str, at: datetime) -> Alert:
    """Mark an open alert as seen by ``by`` with ``note``; it stops repeating to webhooks.

    A resolved alert cannot be acknowledged (there is nothing left to act on); acknowledging
    twice keeps the latest note.
    """
    if not by.strip():
        raise AlertError("acknowledging needs the user's name (--by)")
    if len(by) > USER_MAX:
        raise AlertError(f"user name {by[:20]!r}… is longer than {USER_MAX} characters")
    current = get_alert(conn, alert_id)
    if current.status == AlertStatus.RESOLVED:
        raise AlertError(f"alert {alert_id} ({current.rule}) is already resolved")
    conn.execute(
        sa.update(alerts)
        .where(alerts.c.id == alert_id)
        .values(status=AlertStatus.ACKNOWLEDGED.value, ack_by=by, ack_note=note, ack_at=at)
    )
    return get_alert(conn, alert_id)


def resolve(conn: Connection, alert_id: int, *, at: datetime) -> Alert:
    """Close an incident by hand; if its condition still holds, the next evaluation reopens
    it as a new incident (so a premature resolve cannot silence a real problem)."""
    current = get_alert(conn, alert_id)
    if current.status == AlertStatus.RESOLVED:
        raise AlertError(f"alert {alert_id} ({current.rule}) is already resolved")
    conn.execute(
        sa.update(alerts)
        .where(alerts.c.id == alert_id)
        .values(status=AlertStatus.RESOLVED.value, resolved_at=at)
    )
    return get_alert(conn, alert_id)

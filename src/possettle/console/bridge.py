"""The console's few calls into :mod:`possettle.monitor`: the audit chain, alerts, metrics.

The monitor package owns the hash-chained audit log, the alert life cycle and the Prometheus
exposition; the console must not grow second versions of them. These adapters are the one
place that knows their names and signatures, so the pages stay the same whichever way the
monitor evolves, and its errors become the console's
:class:`~possettle.console.errors.ActionRefused` here, once.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from possettle.console.errors import ActionRefused
from possettle.ledger.kinds import AlertStatus
from possettle.monitor import alerts, audit
from possettle.monitor.metrics import CONTENT_TYPE, render_metrics
from possettle.monitor.store import Alert


def record(
    conn: Connection, actor: str, action: str, target: str, detail: dict[str, Any], at: datetime
) -> None:
    """Record a console action in the audit chain, inside the caller's transaction, so the
    action and its record commit together or not at all."""
    audit.record(conn, actor, action, target, detail, at)


def list_alerts(conn: Connection, statuses: Collection[AlertStatus], limit: int) -> list[Alert]:
    return alerts.list_alerts(conn, statuses=statuses, limit=limit)


def acknowledge_alert(conn: Connection, alert_id: int, actor: str, note: str, at: datetime) -> None:
    """Mark an alert acknowledged by ``actor`` with ``note``."""
    try:
        alerts.acknowledge(conn, alert_id, by=actor, note=note, at=at)
    except alerts.AlertError as e:
        raise ActionRefused(str(e)) from e


def resolve_alert(conn: Connection, alert_id: int, at: datetime) -> None:
    """Close an alert by hand (the engine reopens it if its condition still holds)."""
    try:
        alerts.resolve(conn, alert_id, at=at)
    except alerts.AlertError as e:
        raise ActionRefused(str(e)) from e


def metrics(engine: Engine) -> tuple[bytes, str]:
    """The Prometheus exposition of the ledger and its content type."""
    return render_metrics(engine), CONTENT_TYPE

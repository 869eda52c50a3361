"""The console's few calls into :mod:`possettle.monitor`: the audit chain, alert changes, metrics.

The monitor package owns the hash-chained audit log, the alert life cycle and the Prometheus
exposition; the console must not grow second versions of them. These adapters are the one
place that knows their names, so the pages stay the same whichever way they evolve. Where a
monitor function is not there (an older install), the alert change falls back to a plain
update of the row, and the audit record goes to ``host_events`` (kind ``console.<action>``)
rather than being skipped: an unaudited action must not happen, and the chain is the
monitor's to write.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from possettle.host.ledger.schema import alerts
from possettle.host.ledger.terminal_state import record_event


class AlertRefused(Exception):
    """The monitor refused an alert change (unknown alert, already resolved); says why."""


def _alert_error() -> type[Exception]:
    try:
        found = importlib.import_module("possettle.monitor.store").AlertError
    except (ImportError, AttributeError):
        return AlertRefused
    return found if isinstance(found, type) and issubclass(found, Exception) else AlertRefused


def _monitor(module: str, name: str) -> Callable[..., Any] | None:
    try:
        found = importlib.import_module(f"possettle.monitor.{module}")
    except ImportError:
        return None
    fn = getattr(found, name, None)
    return fn if callable(fn) else None


def audit(
    conn: Connection, actor: str, action: str, target: str, detail: dict[str, Any], at: datetime
) -> None:
    """Record a console action in the audit chain, inside the caller's transaction."""
    text = json.dumps(detail, sort_keys=True, ensure_ascii=False)
    record = _monitor("audit", "record")
    if record is not None:
        record(conn, actor, action, target, text, at)
        return
    fallback = json.dumps({"actor": actor, "target": target, **detail}, ensure_ascii=False)
    tid = target if len(target) <= 8 else None
    record_event(conn, at, f"console.{action}", tid=tid, detail=fallback)


def acknowledge_alert(conn: Connection, alert_id: int, actor: str, note: str, at: datetime) -> bool:
    """Mark an open alert acknowledged by ``actor`` with ``note``; False if it is not open."""
    ack = _monitor("alerts", "acknowledge")
    if ack is not None:
        try:
            ack(conn, alert_id, by=actor, note=note, at=at)
        except _alert_error() as e:
            raise AlertRefused(str(e)) from e
        return True
    a = alerts.c
    done = conn.execute(
        sa.update(alerts)
        .where(a.id == alert_id, a.status == "open")
        .values(status="acknowledged", ack_by=actor, ack_note=note, ack_at=at)
    )
    return done.rowcount == 1


def resolve_alert(conn: Connection, alert_id: int, actor: str, at: datetime) -> bool:
    """Close an alert by hand (the engine also resolves alerts whose condition cleared)."""
    resolve = _monitor("alerts", "resolve")
    if resolve is not None:
        try:
            resolve(conn, alert_id, at=at)
        except _alert_error() as e:
            raise AlertRefused(str(e)) from e
        return True
    a = alerts.c
    done = conn.execute(
        sa.update(alerts)
        .where(a.id == alert_id, a.status != "resolved")
        .values(status="resolved", resolved_at=at)
    )
    return done.rowcount == 1


def has_metrics() -> bool:
    """Whether the monitor's Prometheus exposition is installed (then ``/metrics`` is mounted)."""
    return _monitor("metrics", "render_metrics") is not None


def metrics(engine: Engine) -> tuple[bytes, str] | None:
    """The Prometheus exposition and its content type, or None if the monitor has no metrics."""
    render = _monitor("metrics", "render_metrics")
    if render is None:
        return None
    content_type = importlib.import_module("possettle.monitor.metrics").CONTENT_TYPE
    return bytes(render(engine)), str(content_type)

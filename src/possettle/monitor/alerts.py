"""The built-in alert engine: rules evaluated on the ledger, incidents stored, webhooks sent.

One evaluation reads the ledger (:mod:`.readings`), runs every rule (:mod:`.evaluate`) and
files each finding as an incident in the ``alerts`` table keyed by (rule, incident key): a
repeat finding updates the open incident (``last_at``, its terminals, its summary) instead of
inserting a new one, and an open incident whose condition has cleared is resolved. Webhooks
hear of a firing incident when it opens and again every ``repeat`` while it stays open and
unacknowledged, and once when it resolves. Delivery happens outside the database
transaction, so a slow webhook never holds the ledger's write lock.

The console calls :func:`list_alerts`, :func:`acknowledge` and :func:`resolve` (and records
the action with :func:`possettle.monitor.audit.record` in the same transaction).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from possettle.clock import Clock
from possettle.errors import PossettleError
from possettle.ledger.kinds import AlertStatus
from possettle.ledger.schema import alerts
from possettle.monitor.errors import AlertError
from possettle.monitor.evaluate import Finding, evaluate
from possettle.monitor.readings import Thresholds, read
from possettle.monitor.store import (
    Alert,
    acknowledge,
    get_alert,
    list_alerts,
    lock,
    resolve,
    to_alert,
)
from possettle.monitor.webhook import DEFAULT_TIMEOUT, Sender, deliver, post_json

__all__ = [
    "Alert",
    "AlertError",
    "EngineConfig",
    "Outcome",
    "acknowledge",
    "apply_findings",
    "evaluate_alerts",
    "get_alert",
    "list_alerts",
    "resolve",
    "watch",
]

log = structlog.get_logger("possettle.monitor.alerts")

DEFAULT_REPEAT = timedelta(hours=4)
ACTIVE = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    webhooks: tuple[str, ...] = ()
    repeat: timedelta = DEFAULT_REPEAT
    timeout: float = DEFAULT_TIMEOUT
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one evaluation changed (alerts as they stand after it)."""

    opened: tuple[Alert, ...] = ()
    updated: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()
    notified: tuple[int, ...] = ()  # ids whose webhook notification went out


def apply_findings(conn: Connection, findings: Sequence[Finding], clock: Clock) -> Outcome:
    """File ``findings`` as incidents: open new ones, update repeats, resolve cleared ones."""
    now = clock.now()
    lock(conn)
    active = {
        (row.rule, row.incident_key): row
        for row in conn.execute(sa.select(alerts).where(alerts.c.status.in_(ACTIVE)))
    }
    opened: list[int] = []
    updated: list[int] = []
    seen: set[tuple[str, str]] = set()
    for f in findings:
        key = (f.rule.name, f.incident_key)
        seen.add(key)
        values: dict[str, Any] = {
            "cause": f.cause,
            "severity": f.rule.severity.value,
            "summary_en": f.summary_en,
            "summary_zh": f.summary_zh,
            "terminals": _tids(f.terminals),
            "last_at": now,
        }
        row = active.get(key)
        if row is not None:
            conn.execute(sa.update(alerts).where(alerts.c.id == row.id).values(**values))
            updated.append(row.id)
            continue
        new_id = conn.execute(
            sa.insert(alerts).values(
                rule=f.rule.name, incident_key=f.incident_key, first_at=now,
                status=AlertStatus.OPEN.value, **values,
            ).returning(alerts.c.id)
        ).scalar_one()  # fmt: skip
        opened.append(int(new_id))
    cleared = [row.id for key, row in active.items() if key not in seen]
    if cleared:
        conn.execute(
            sa.update(alerts)
            .where(alerts.c.id.in_(cleared))
            .values(status=AlertStatus.RESOLVED.value, resolved_at=now)
        )
    return Outcome(_load(conn, opened), _load(conn, updated), _load(conn, cleared))


def _tids(tids: Sequence[str]) -> str:
    return json.dumps(list(tids))


def _load(conn: Connection, ids: Sequence[int]) -> tuple[Alert, ...]:
    if not ids:
        return ()
    rows = conn.execute(sa.select(alerts).where(alerts.c.id.in_(ids)).order_by(alerts.c.id))
    return tuple(to_alert(r) for r in rows)


def due(conn: Connection, clock: Clock, repeat: timedelta) -> list[tuple[str, Alert]]:
    """Alerts a webhook should hear about now: ("firing"|"resolved", alert)."""
    now = clock.now()
    out: list[tuple[str, Alert]] = []
    rows = conn.execute(
        sa.select(alerts)
        .where(
            sa.or_(
                alerts.c.status == AlertStatus.OPEN.value,
                sa.and_(
                    alerts.c.status == AlertStatus.RESOLVED.value,
                    alerts.c.notified_at.is_not(None),
                    alerts.c.resolved_at > alerts.c.notified_at,
                ),
            )
        )
        .order_by(alerts.c.id)
    )
    for row in rows:
        a = to_alert(row)
        if a.status == AlertStatus.RESOLVED:
            out.append(("resolved", a))
        elif a.notified_at is None or now - a.notified_at >= repeat:
            out.append(("firing", a))
    return out


def notify(
    engine: Engine, clock: Clock, config: EngineConfig, sender: Sender = post_json
) -> tuple[int, ...]:
    """Send what is due to the webhooks; mark it notified only if one of them took it."""
    if not config.webhooks:
        return ()
    with engine.begin() as conn:
        pending = due(conn, clock, config.repeat)
    if not pending:
        return ()
    payload = {
        "version": "possettle.alerts/1",
        "alerts": [{"state": state, **a.as_dict()} for state, a in pending],
    }
    if not deliver(config.webhooks, payload, timeout=config.timeout, sender=sender):
        return ()  # nobody heard it: try again on the next evaluation
    ids = [a.id for _state, a in pending]
    with engine.begin() as conn:
        conn.execute(sa.update(alerts).where(alerts.c.id.in_(ids)).values(notified_at=clock.now()))
    return tuple(ids)


def evaluate_alerts(
    engine: Engine, clock: Clock, config: EngineConfig | None = None, sender: Sender = post_json
) -> Outcome:
    """One full round: read, evaluate, store, notify. Safe to run from cron or a loop."""
    config = config or EngineConfig()
    with engine.begin() as conn:
        readings = read(conn, clock.now(), config.thresholds)
        outcome = apply_findings(conn, evaluate(readings), clock)
    notified = notify(engine, clock, config, sender)
    return Outcome(outcome.opened, outcome.updated, outcome.resolved, notified)


async def watch(
    engine: Engine,
    clock: Clock,
    config: EngineConfig,
    *,
    every: float,
    stop: asyncio.Event,
    sender: Sender = post_json,
) -> int:
    """Evaluate every ``every`` seconds until ``stop`` is set; returns the rounds run.

    For a process that serves the console on a single machine (run it in its TaskGroup). A
    round that fails on the database (locked, server gone) is logged and retried next round:
    one bad minute must not end alerting for the day. Bugs still raise.
    """
    rounds = 0
    while not stop.is_set():
        try:
            await asyncio.to_thread(evaluate_alerts, engine, clock, config, sender)
        except (PossettleError, exc.SQLAlchemyError) as e:
            log.error("alert_evaluation_failed", error=type(e).__name__, detail=str(e)[:200])
        rounds += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
    return rounds

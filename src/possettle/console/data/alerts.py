"""Alerts as the console shows them: open ones first, then the past, straight from the table.

The built-in alert engine (:mod:`possettle.monitor`) writes the ``alerts`` rows; the console
only reads them here and changes them through :mod:`possettle.console.bridge`, so the rules
about de-duplication and repeat intervals stay in one place.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from possettle.doctor.catalog import BY_ID
from possettle.host.ledger.schema import alerts

PAST_LIMIT = 200


def _row(r: Any) -> dict[str, Any]:
    try:
        affected = json.loads(r.terminals)
    except ValueError:
        affected = []
    known = BY_ID.get(r.cause)
    return {
        "id": r.id, "rule": r.rule, "cause": r.cause,
        "group": known.group.value if known else None, "severity": r.severity,
        "incident_key": r.incident_key, "status": r.status,
        "summary": {"en": r.summary_en, "zh": r.summary_zh},
        "terminals": affected if isinstance(affected, list) else [],
        "first_at": _iso(r.first_at), "last_at": _iso(r.last_at),
        "ack_by": r.ack_by, "ack_note": r.ack_note, "ack_at": _iso(r.ack_at),
        "resolved_at": _iso(r.resolved_at),
    }  # fmt: skip


def alert_list(engine: Engine) -> dict[str, Any]:
    """Open and acknowledged alerts (still live), and the latest resolved ones."""
    a = alerts.c
    with engine.connect() as conn:
        live = conn.execute(
            sa.select(alerts).where(a.status != "resolved").order_by(a.last_at.desc())
        ).all()
        past = conn.execute(
            sa.select(alerts)
            .where(a.status == "resolved")
            .order_by(a.resolved_at.desc())
            .limit(PAST_LIMIT)
        ).all()
    return {"open": [_row(r) for r in live], "past": [_row(r) for r in past]}


def get_alert(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
    return _row(row) if row is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

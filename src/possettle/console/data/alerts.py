"""Alerts as the console shows them: live ones (open, acknowledged) first, then the past.

The built-in alert engine (:mod:`possettle.monitor`) writes and reads the ``alerts`` rows; the
console goes through its store (:mod:`possettle.console.bridge`), so the rules about
de-duplication, acknowledgement and repeat intervals stay in one place. This module only adds
what a page needs on top: the cause's group and the summary in both languages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from possettle.console import bridge
from possettle.doctor.catalog import BY_ID
from possettle.ledger.kinds import AlertStatus
from possettle.monitor.store import Alert

LIVE_LIMIT = 500
PAST_LIMIT = 200


def _view(a: Alert) -> dict[str, Any]:
    data = a.as_dict()
    known = BY_ID.get(a.cause)
    data["group"] = known.group.value if known else None
    data["summary"] = {"en": a.summary_en, "zh": a.summary_zh}
    return data


def alert_list(engine: Engine) -> dict[str, Any]:
    """Open and acknowledged alerts (still live), newest first, and the latest resolved ones."""
    live = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
    with engine.connect() as conn:
        current = bridge.list_alerts(conn, live, LIVE_LIMIT)
        past = bridge.list_alerts(conn, (AlertStatus.RESOLVED,), PAST_LIMIT)
    return {"open": [_view(a) for a in current], "past": [_view(a) for a in past]}

"""Where a console action's audit record landed: the monitor's chain, or the fallback events."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from possettle.host.ledger.schema import audit_log, host_events


def audited(engine: sa.Engine, action: str, target: str) -> list[dict[str, Any]]:
    """Audit records of ``action`` on ``target`` with actor and time, from either store."""
    with engine.connect() as conn:
        chain = conn.execute(
            sa.select(audit_log).where(audit_log.c.action == action, audit_log.c.target == target)
        ).all()
        found = [{"actor": r.actor, "at": r.at, "detail": json.loads(r.detail)} for r in chain]
        for r in conn.execute(
            sa.select(host_events).where(host_events.c.kind == f"console.{action}")
        ):
            detail = json.loads(r.detail)
            if detail.get("target") == target:
                found.append({"actor": detail["actor"], "at": r.at, "detail": detail})
    return found

"""Reading a console action's audit records back, and checking the chain still verifies."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from possettle.ledger.schema import audit_log
from possettle.monitor import audit


def audited(engine: sa.Engine, action: str, target: str) -> list[dict[str, Any]]:
    """Audit records of ``action`` on ``target`` (actor, time, detail); the chain is intact."""
    with engine.connect() as conn:
        ok, bad = audit.verify(conn)
        assert ok, f"audit chain broken at row {bad}"
        rows = conn.execute(
            sa.select(audit_log).where(audit_log.c.action == action, audit_log.c.target == target)
        ).all()
    return [{"actor": r.actor, "at": r.at, "detail": json.loads(r.detail)} for r in rows]

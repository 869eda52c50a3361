"""The Support desk's tickets as the pages and the JSON API show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from possettle.ledger.kinds import TicketStatus
from possettle.support import tickets


def ticket(engine: Engine, ticket_id: int) -> tickets.Ticket:
    """Ticket ``ticket_id``; :class:`~possettle.support.tickets.TicketNotFound` if missing."""
    with engine.connect() as conn:
        return tickets.get(conn, ticket_id)


def ticket_list(
    engine: Engine, *, status: TicketStatus | None = None, tid: str | None = None, limit: int = 100
) -> list[tickets.Ticket]:
    with engine.connect() as conn:
        return tickets.listing(conn, status=status, tid=tid, limit=limit)


def summary(t: tickets.Ticket) -> dict[str, Any]:
    """A ticket's line in a list: who, when, what was reported, the current top cause."""
    causes = t.result.get("causes") or []
    return {
        "id": t.id, "status": t.status.value, "tid": t.reported.tid, "ours": t.ours,
        "screen": t.reported.screen, "code": t.reported.code, "acquirer": t.reported.acquirer,
        "cause": t.cause, "score": causes[0]["score"] if causes else None,
        "steps": len(t.steps), "created_by": t.created_by, "updated_by": t.updated_by,
        "created_at": t.created_at.isoformat(), "updated_at": t.updated_at.isoformat(),
        "closed_at": t.closed_at.isoformat() if t.closed_at else None,
    }  # fmt: skip


def steps(t: tickets.Ticket) -> list[dict[str, Any]]:
    """The ticket's steps with their times as datetimes (the pages show them in the shop's
    zone)."""
    return [{**s, "at": datetime.fromisoformat(s["at"])} for s in t.steps]

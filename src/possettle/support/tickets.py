"""Support desk tickets: each case the console's Support desk handled, kept in the ledger.

A ticket holds what was reported (screen text, code, acquirer, model, the TID and whether it is
one of ours), the answers so far, the ranking at every step (the top causes with their scores,
who answered and when), the latest full answer of the desk, and its status. The photo's bytes
are not stored: its SHA-256, its size and the text read off it are (docs/console.md, "Support
desk"). Text a person typed has card numbers masked before it gets here.

These functions work inside the caller's transaction, so the console writes a ticket and its
audit record together (:mod:`possettle.console.desk`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from possettle.ledger.kinds import TicketStatus
from possettle.ledger.schema import support_tickets
from possettle.support.errors import TicketError


class TicketNotFound(TicketError):
    """No ticket has that id."""


class TicketChanged(TicketError):
    """Someone else recorded a step on the ticket since it was read: reload and answer again."""


#: causes kept per step in ``steps`` (the full ranking of the latest step is in ``result``)
TOP_PER_STEP = 5


@dataclass(frozen=True, slots=True)
class Reported:
    """What the merchant reported when the case was started."""

    screen: str | None = None
    code: str | None = None
    acquirer: str | None = None
    model: str | None = None
    tid: str | None = None


@dataclass(frozen=True, slots=True)
class Photo:
    """What is kept of a photo: the text read off it, its SHA-256 and size (not the image)."""

    text: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    status: TicketStatus
    reported: Reported
    ours: bool
    photo: Photo | None
    answers: dict[str, str]
    steps: list[dict[str, Any]]
    result: dict[str, Any]
    cause: str | None
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """The ticket as the JSON API shows it (times ISO 8601 UTC)."""
        r = self.reported
        return {
            "id": self.id,
            "status": self.status.value,
            "tid": r.tid,
            "ours": self.ours,
            "screen": r.screen,
            "code": r.code,
            "acquirer": r.acquirer,
            "model": r.model,
            "photo": None
            if self.photo is None
            else {"text": self.photo.text, "sha256": self.photo.sha256, "bytes": self.photo.size},
            "answers": dict(self.answers),
            "steps": list(self.steps),
            "result": self.result,
            "cause": self.cause,
            "created_by": self.created_by,
            "updated_by": self.updated_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


def step_record(
    result: Mapping[str, Any],
    *,
    event: str,
    by: str,
    at: datetime,
    answer: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One step of the ranking as kept on the ticket: what happened, then the top causes."""
    causes = result.get("causes") or []
    nxt = result.get("next_question")
    return {
        "at": at.isoformat(),
        "by": by,
        "event": event,
        "answer": None if answer is None else {"question": answer[0], "answer": answer[1]},
        "top": [{"cause": c["cause"], "score": c["score"]} for c in causes[:TOP_PER_STEP]],
        "next_question": nxt["id"] if nxt else None,
        "stop": result.get("stop"),
    }


def _top(result: Mapping[str, Any]) -> str | None:
    causes = result.get("causes") or []
    return str(causes[0]["cause"]) if causes else None


def create(
    conn: Connection,
    reported: Reported,
    *,
    ours: bool,
    photo: Photo | None,
    result: Mapping[str, Any],
    by: str,
    at: datetime,
) -> int:
    """A new open ticket with its first step; returns its id."""
    step = step_record(result, event="create", by=by, at=at)
    done = conn.execute(
        sa.insert(support_tickets).values(
            status=TicketStatus.OPEN.value, tid=reported.tid, ours=ours, screen=reported.screen,
            code=reported.code, acquirer=reported.acquirer, model=reported.model,
            photo_text=photo.text if photo else None, photo_sha256=photo.sha256 if photo else None,
            photo_bytes=photo.size if photo else None, answers="{}", steps=_json([step]),
            result=_json(result), cause=_top(result), created_by=by, updated_by=by,
            created_at=at, updated_at=at,
        )
    )  # fmt: skip
    key = done.inserted_primary_key
    assert key is not None
    return int(key[0])


def add_step(
    conn: Connection,
    ticket: Ticket,
    *,
    after: int | None = None,
    event: str,
    result: Mapping[str, Any],
    by: str,
    at: datetime,
    answers: Mapping[str, str] | None = None,
    answer: tuple[str, str] | None = None,
    photo: Photo | None = None,
) -> None:
    """Record a step (an answer, a photo) on an open ticket: its answers, ranking and result.

    ``after`` is the number of steps the caller saw when it read the ticket; if another step
    was recorded since, :class:`TicketChanged` (the step was ranked on stale answers).
    """
    if ticket.status is not TicketStatus.OPEN:
        raise TicketError(f"ticket {ticket.id} is closed")
    if after is not None and len(ticket.steps) != after:
        raise TicketChanged(f"ticket {ticket.id} changed meanwhile")
    steps = [*ticket.steps, step_record(result, event=event, by=by, at=at, answer=answer)]
    values: dict[str, Any] = {
        "answers": _json(dict(answers if answers is not None else ticket.answers)),
        "steps": _json(steps), "result": _json(result), "cause": _top(result),
        "updated_by": by, "updated_at": at,
    }  # fmt: skip
    if photo is not None:
        values |= {
            "photo_text": photo.text,
            "photo_sha256": photo.sha256,
            "photo_bytes": photo.size,
        }
    _update_open(conn, ticket.id, values)


def close(conn: Connection, ticket: Ticket, *, by: str, at: datetime) -> None:
    """Close an open ticket; its latest top cause stays as the final cause."""
    if ticket.status is not TicketStatus.OPEN:
        raise TicketError(f"ticket {ticket.id} is closed already")
    _update_open(
        conn, ticket.id,
        {"status": TicketStatus.CLOSED.value, "closed_at": at, "updated_at": at, "updated_by": by},
    )  # fmt: skip


def _update_open(conn: Connection, ticket_id: int, values: dict[str, Any]) -> None:
    c = support_tickets.c
    done = conn.execute(
        sa.update(support_tickets)
        .where(c.id == ticket_id, c.status == TicketStatus.OPEN.value)
        .values(**values)
    )
    if done.rowcount != 1:  # closed by someone else since it was read
        raise TicketError(f"ticket {ticket_id} is closed")


def get(conn: Connection, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """Ticket ``ticket_id``; :class:`TicketError` when there is none."""
    query = sa.select(support_tickets).where(support_tickets.c.id == ticket_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    return _ticket(row)


def listing(
    conn: Connection,
    *,
    status: TicketStatus | None = None,
    tid: str | None = None,
    limit: int = 100,
) -> list[Ticket]:
    """Tickets, the most recently updated first."""
    c = support_tickets.c
    query = sa.select(support_tickets).order_by(c.updated_at.desc(), c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(c.status == status.value)
    if tid is not None:
        query = query.where(c.tid == tid)
    return [_ticket(r) for r in conn.execute(query).mappings()]


def _ticket(r: RowMapping) -> Ticket:
    photo = (
        None
        if r["photo_sha256"] is None
        else Photo(r["photo_text"] or "", r["photo_sha256"], int(r["photo_bytes"] or 0))
    )
    return Ticket(
        id=int(r["id"]),
        status=TicketStatus(r["status"]),
        reported=Reported(r["screen"], r["code"], r["acquirer"], r["model"], r["tid"]),
        ours=bool(r["ours"]),
        photo=photo,
        answers=dict(json.loads(r["answers"])),
        steps=list(json.loads(r["steps"])),
        result=dict(json.loads(r["result"])),
        cause=r["cause"],
        created_by=r["created_by"],
        updated_by=r["updated_by"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        closed_at=r["closed_at"],
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)

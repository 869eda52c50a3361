"""The Support desk's actions: start a case, answer a question, add a photo, close the ticket.

Each action asks the support engine (:func:`possettle.support.engine.diagnose`) for the next
step, then saves the ticket and writes its audit record in one transaction (as
:mod:`.actions` does for terminals): no ticket change without its record.

The photo is read once, when it is uploaded (:func:`possettle.support.ocr.photo_text`); the
ledger keeps the text read off it, its SHA-256 and its size, not the image. Every later step
gives the engine that text after the screen text the merchant typed, so the ranking keeps what
the photo said without the image being stored or read again.

When the TID is in the console's own ledger, the case names the ledger (``host_db``) and the
TID, so possettle's data answers the questions it can (:mod:`possettle.support.ours`).

The engine, the OCR and the lists of acquirers and questions come in through :class:`Desk`, so
the console's tests can run the pages against a small fake engine.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from possettle.clock import Clock
from possettle.console import bridge
from possettle.console.auth import User
from possettle.console.web import scrub
from possettle.host.registry import get_terminal
from possettle.support import tickets
from possettle.support.case import Case
from possettle.support.errors import TicketError, UnknownIdError
from possettle.support.result import Question, Result

#: the largest photo accepted, in bytes (the request body is capped a little above it)
PHOTO_LIMIT = 10 * 1024 * 1024
SCREEN_LIMIT = 500
_TID = re.compile(r"^[A-Z0-9]{1,16}$")
_CODE = re.compile(r"^[A-Z0-9]{1,3}$")
UNKNOWN = "unknown"  # "I don't know": an answer on every question, without evidence


class Named(Protocol):
    """An acquirer as :func:`possettle.support.acquirers.all_acquirers` lists it."""

    @property
    def id(self) -> str: ...
    @property
    def en(self) -> str: ...
    @property
    def zh(self) -> str: ...


@dataclass(frozen=True)
class Desk:
    """What the Support desk calls: the engine, the OCR, the acquirers and the questions."""

    diagnose: Callable[[Case, Clock], Result]
    photo_text: Callable[[bytes], str]
    acquirers: Callable[[], Sequence[Named]]
    questions: Callable[[], Sequence[Question]]

    @classmethod
    def real(cls) -> Desk:
        """The support package's own; imported on first use (the OCR pulls in Pillow)."""

        def diagnose(case: Case, clock: Clock) -> Result:
            from possettle.support.engine import diagnose as run

            return run(case, clock=clock)

        def photo_text(data: bytes) -> str:
            from possettle.support.ocr import photo_text as read

            return read(data)

        def acquirers() -> Sequence[Named]:
            from possettle.support.acquirers import all_acquirers

            return tuple(all_acquirers())

        def questions() -> Sequence[Question]:
            from possettle.support.questions import all_questions

            return tuple(all_questions())

        return cls(diagnose, photo_text, acquirers, questions)


class BadInput(ValueError):
    """A field of a new case or an answer that the desk cannot take; the text names the field
    and never echoes its value."""


@dataclass(frozen=True, slots=True)
class Started:
    """A new case as given (page form or API body), before it is checked."""

    screen: str = ""
    code: str = ""
    acquirer: str = ""
    model: str = ""
    tid: str = ""


def checked(desk: Desk, given: Started) -> tickets.Reported:
    """The case's fields, trimmed and checked; card numbers in the free text are masked."""
    screen = scrub(given.screen.strip())
    if len(screen) > SCREEN_LIMIT:
        raise BadInput(f"screen: at most {SCREEN_LIMIT} characters")
    code = given.code.strip().upper()
    if code and not _CODE.match(code):
        raise BadInput("code: a response code is 1 to 3 letters or digits (A0, 94)")
    acquirer = given.acquirer.strip()
    if acquirer and acquirer not in {a.id for a in desk.acquirers()}:
        raise BadInput("acquirer: not one of the acquirers listed")
    model = scrub(given.model.strip())
    if len(model) > 40:
        raise BadInput("model: at most 40 characters")
    tid = given.tid.strip().upper()
    if tid and not _TID.match(tid):
        raise BadInput("tid: 1 to 16 letters or digits")
    return tickets.Reported(screen or None, code or None, acquirer or None, model or None,
                            tid or None)  # fmt: skip


def read_photo(desk: Desk, data: bytes) -> tickets.Photo:
    """The photo's text (card numbers masked), SHA-256 and size; too large → :class:`BadInput`.

    :class:`~possettle.support.errors.PhotoError` (not an image, OCR missing) passes through.
    """
    if not data:
        raise BadInput("photo: the file is empty")
    if len(data) > PHOTO_LIMIT:
        raise BadInput(f"photo: at most {PHOTO_LIMIT // (1024 * 1024)} MB")
    text = scrub(desk.photo_text(data).strip())
    return tickets.Photo(text, hashlib.sha256(data).hexdigest(), len(data))


def _ours(engine: Engine, tid: str | None) -> bool:
    if tid is None:
        return False
    with engine.connect() as conn:
        return get_terminal(conn, tid) is not None


def _case(
    engine: Engine,
    reported: tickets.Reported,
    ours: bool,
    photo: tickets.Photo | None,
    answers: Mapping[str, str],
) -> Case:
    # the photo's text follows what the merchant typed (see the module's docstring)
    said = [s for s in (reported.screen, photo.text if photo else None) if s]
    return Case(
        screen="\n".join(said) or None,
        code=reported.code,
        acquirer=reported.acquirer,
        model=reported.model,
        answers=dict(answers),
        host_db=engine.url.render_as_string(hide_password=False) if ours else None,
        tid=reported.tid if ours else None,
    )


def _diagnose(desk: Desk, engine: Engine, clock: Clock, case: Case) -> dict[str, Any]:
    """The engine's answer as JSON data, the ledger's password (if its URL has one) never in
    it: our data's notes name the ledger they read, and tickets and pages show them."""
    result = desk.diagnose(case, clock).as_dict()
    password = engine.url.password
    if case.host_db is None or not password:
        return result
    secret = engine.url.render_as_string(hide_password=False)
    shown = engine.url.render_as_string(hide_password=True)
    cleaned: dict[str, Any] = _redacted(result, (secret, shown), (str(password), "***"))
    return cleaned


def _redacted(value: Any, *swaps: tuple[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in swaps:
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _redacted(v, *swaps) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v, *swaps) for v in value]
    return value


def start(
    engine: Engine,
    clock: Clock,
    desk: Desk,
    user: User,
    reported: tickets.Reported,
    photo: tickets.Photo | None = None,
) -> int:
    """Open a ticket for a new case, with the desk's first step; returns the ticket id."""
    ours = _ours(engine, reported.tid)
    result = _diagnose(desk, engine, clock, _case(engine, reported, ours, photo, {}))
    now = clock.now()
    with engine.begin() as conn:
        ticket_id = tickets.create(
            conn, reported, ours=ours, photo=photo, result=result, by=user.username, at=now
        )
        bridge.record(conn, user.username, "support.create", f"ticket:{ticket_id}",
                      _audit(result, tid=reported.tid, ours=ours, photo=photo), now)  # fmt: skip
    return ticket_id


def _choices(desk: Desk, current: Mapping[str, Any], question: str) -> set[str] | None:
    """The answer ids of ``question``: the current step's next question, else the data's."""
    nxt = current.get("next_question")
    if nxt and nxt.get("id") == question:
        return {a["id"] for a in nxt.get("answers", [])} | {UNKNOWN}
    for q in desk.questions():
        if q.id == question:
            return {a.id for a in q.answers} | {UNKNOWN}
    return None


def answer(
    engine: Engine, clock: Clock, desk: Desk, user: User, ticket_id: int, question: str, choice: str
) -> None:
    """Record an answer on an open ticket and the ranking it leads to."""
    ticket = _get(engine, ticket_id)
    choices = _choices(desk, ticket.result, question)
    if choices is None:
        raise UnknownIdError(f"no question {question!r}"[:80])
    if choice not in choices:
        raise UnknownIdError(f"question {question!r} has no answer {choice!r}"[:120])
    answers = {**ticket.answers, question: choice}
    case = _case(engine, ticket.reported, ticket.ours, ticket.photo, answers)
    result = _diagnose(desk, engine, clock, case)
    now = clock.now()
    with engine.begin() as conn:
        tickets.add_step(conn, tickets.get(conn, ticket_id, for_update=True), event="answer",
                         after=len(ticket.steps),
                         result=result, by=user.username, at=now, answers=answers,
                         answer=(question, choice))  # fmt: skip
        detail = {"question": question, "answer": choice, **_audit(result)}
        bridge.record(conn, user.username, "support.answer", f"ticket:{ticket_id}", detail, now)


def add_photo(
    engine: Engine, clock: Clock, desk: Desk, user: User, ticket_id: int, data: bytes
) -> None:
    """Read a photo of the screen onto an open ticket and re-rank with what it says."""
    ticket = _get(engine, ticket_id)
    if ticket.status.value != "open":
        raise TicketError(f"ticket {ticket_id} is closed")
    photo = read_photo(desk, data)
    case = _case(engine, ticket.reported, ticket.ours, photo, ticket.answers)
    result = _diagnose(desk, engine, clock, case)
    now = clock.now()
    with engine.begin() as conn:
        tickets.add_step(conn, tickets.get(conn, ticket_id, for_update=True), event="photo",
                         after=len(ticket.steps),
                         result=result, by=user.username, at=now, photo=photo)  # fmt: skip
        bridge.record(conn, user.username, "support.photo", f"ticket:{ticket_id}",
                      _audit(result, photo=photo), now)  # fmt: skip


def close(engine: Engine, clock: Clock, user: User, ticket_id: int) -> None:
    """Close an open ticket; the latest top cause is its final cause."""
    now = clock.now()
    with engine.begin() as conn:
        ticket = tickets.get(conn, ticket_id, for_update=True)
        tickets.close(conn, ticket, by=user.username, at=now)
        bridge.record(conn, user.username, "support.close", f"ticket:{ticket_id}",
                      {"cause": ticket.cause}, now)  # fmt: skip


def _get(engine: Engine, ticket_id: int) -> tickets.Ticket:
    with engine.connect() as conn:
        return tickets.get(conn, ticket_id)


def _audit(
    result: Mapping[str, Any],
    *,
    tid: str | None = None,
    ours: bool | None = None,
    photo: tickets.Photo | None = None,
) -> dict[str, Any]:
    """What the audit record keeps of a step: the top causes, and the photo's hash."""
    detail: dict[str, Any] = {
        "top": [[c["cause"], c["score"]] for c in (result.get("causes") or [])[:3]]
    }
    if tid is not None:
        detail |= {"tid": tid, "ours": ours}
    if photo is not None:
        detail["photo_sha256"] = photo.sha256
    return detail

"""The Support desk page and ``/api/support/...``: start a case, the interview, tickets.

Reading needs a session (any role); starting a case, answering, adding a photo and closing a
ticket are actions (operator and up, with the session's CSRF token) and are audited. The page
posts answers and photos with htmx and swaps in the new step (``support_step.html``); without
script the same forms post and redirect back (post, redirect, get). Bad input is a 4xx that
names the field, never a 500, and never echoes what was typed; request bodies are capped
(console/limits.py) and a photo may be at most :data:`~possettle.console.desk.PHOTO_LIMIT`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from starlette.responses import Response

from possettle.console import desk
from possettle.console.data import support as data
from possettle.console.i18n import STRINGS, t
from possettle.console.web import Operator, Viewer, language, render, state
from possettle.doctor.catalog import BY_ID
from possettle.ledger.kinds import TicketStatus
from possettle.support.errors import PhotoError, TicketError, UnknownIdError
from possettle.support.tickets import TicketChanged, TicketNotFound

router = APIRouter()


class NewCase(BaseModel):
    """A new case: what the merchant reports; every field may be left out."""

    screen: str = Field("", max_length=2000, description="the screen's text, as read out")
    code: str = Field("", max_length=16, description="a response code (A0, 94)")
    acquirer: str = Field("", max_length=40, description="an id of GET /api/support/acquirers")
    model: str = Field("", max_length=80)
    tid: str = Field("", max_length=40, description="the terminal ID; ours if in this ledger")


class Answer(BaseModel):
    question: str = Field(max_length=60)
    answer: str = Field(max_length=60)


@contextmanager
def _refusals(request: Request) -> Iterator[None]:
    """The desk's refusals as 4xx: unknown ticket 404, closed 409, bad input 422."""
    lang = language(request)
    try:
        yield
    except TicketNotFound as e:
        raise HTTPException(404, t(lang, "not_found")) from e
    except TicketChanged as e:
        raise HTTPException(409, t(lang, "ticket_changed")) from e
    except TicketError as e:
        raise HTTPException(409, t(lang, "ticket_is_closed")) from e
    except (desk.BadInput, UnknownIdError) as e:
        raise HTTPException(422, t(lang, "bad_input", what=str(e))) from e
    except PhotoError as e:
        raise HTTPException(422, t(lang, "photo_unreadable", why=str(e))) from e


def _photo_bytes(photo: UploadFile | None) -> bytes | None:
    """The uploaded file's bytes; None when the form's file box was left empty."""
    if photo is None or not photo.filename:
        return None
    return photo.file.read(desk.PHOTO_LIMIT + 1) or None


def _start(request: Request, session: Operator, case: NewCase, photo: bytes | None) -> int:
    st = state(request)
    with _refusals(request):
        reported = desk.checked(st.desk, desk.Started(**case.model_dump()))
        read = desk.read_photo(st.desk, photo) if photo is not None else None
        return desk.start(st.engine, st.clock, st.desk, session.user, reported, read)


def _ticket_context(request: Request, ticket_id: int) -> dict[str, Any]:
    st = state(request)
    with _refusals(request):
        found = data.ticket(st.engine, ticket_id)
    return {"ticket": found, "data": found.as_dict(), "steps": data.steps(found), "causes": BY_ID,
            "acquirers": {a.id: a for a in st.desk.acquirers()},
            "esc_keys": {k for k in STRINGS if k.startswith("esc_")}}  # fmt: skip


def _after(request: Request, session: Operator, ticket_id: int) -> Response:
    """htmx gets the new step to swap in; a plain form post is sent back to the page."""
    if request.headers.get("hx-request") == "true":
        return render(request, "support_step.html", session, _ticket_context(request, ticket_id))
    return RedirectResponse(f"/support/{ticket_id}", status_code=303)


# ---------------------------------------------------------------------------- pages


@router.get("/support", include_in_schema=False)
def support_page(request: Request, session: Viewer) -> Response:
    st = state(request)
    context = {"tickets": [data.summary(x) for x in data.ticket_list(st.engine)],
               "acquirers": st.desk.acquirers()}  # fmt: skip
    return render(request, "support.html", session, context)


@router.post("/support", include_in_schema=False)
def start_form(
    request: Request,
    session: Operator,
    screen: Annotated[str, Form(max_length=2000)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
    acquirer: Annotated[str, Form(max_length=40)] = "",
    model: Annotated[str, Form(max_length=80)] = "",
    tid: Annotated[str, Form(max_length=40)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    case = NewCase(screen=screen, code=code, acquirer=acquirer, model=model, tid=tid)
    ticket_id = _start(request, session, case, _photo_bytes(photo))
    return RedirectResponse(f"/support/{ticket_id}", status_code=303)


@router.get("/support/{ticket_id}", include_in_schema=False)
def ticket_page(request: Request, session: Viewer, ticket_id: int) -> Response:
    return render(request, "support_ticket.html", session, _ticket_context(request, ticket_id))


@router.post("/support/{ticket_id}/answer", include_in_schema=False)
def answer_form(
    request: Request,
    session: Operator,
    ticket_id: int,
    question: Annotated[str, Form(max_length=60)],
    answer: Annotated[str, Form(max_length=60)],
) -> Response:
    st = state(request)
    with _refusals(request):
        desk.answer(st.engine, st.clock, st.desk, session.user, ticket_id, question, answer)
    return _after(request, session, ticket_id)


def _photo(request: Request, session: Operator, ticket_id: int, photo: UploadFile) -> None:
    st = state(request)
    with _refusals(request):
        given = _photo_bytes(photo)
        if given is None:
            raise desk.BadInput("photo: no file chosen")
        desk.add_photo(st.engine, st.clock, st.desk, session.user, ticket_id, given)


@router.post("/support/{ticket_id}/photo", include_in_schema=False)
def photo_form(
    request: Request, session: Operator, ticket_id: int, photo: Annotated[UploadFile, File()]
) -> Response:
    _photo(request, session, ticket_id, photo)
    return _after(request, session, ticket_id)


def _close(request: Request, session: Operator, ticket_id: int) -> None:
    st = state(request)
    with _refusals(request):
        desk.close(st.engine, st.clock, session.user, ticket_id)


@router.post("/support/{ticket_id}/close", include_in_schema=False)
def close_form(request: Request, session: Operator, ticket_id: int) -> Response:
    _close(request, session, ticket_id)
    return RedirectResponse(f"/support/{ticket_id}", status_code=303)


# ---------------------------------------------------------------------------- API


@router.get("/api/support/acquirers", tags=["support"])
def acquirers_api(request: Request, session: Viewer) -> dict[str, Any]:
    """Every acquirer id the desk knows, with its name in English and Chinese."""
    found = state(request).desk.acquirers()
    return {"acquirers": [{"id": a.id, "en": a.en, "zh": a.zh} for a in found]}


@router.get("/api/support/tickets", tags=["support"])
def tickets_api(
    request: Request, session: Viewer, status: str = "", tid: str = "", limit: int = 100
) -> dict[str, Any]:
    """Tickets, the most recently updated first; ``status`` open|closed, ``tid``."""
    lang = language(request)
    try:
        chosen = TicketStatus(status) if status else None
    except ValueError:
        raise HTTPException(422, t(lang, "bad_input", what="status: open or closed")) from None
    if not 1 <= limit <= 1000:
        raise HTTPException(422, t(lang, "bad_input", what="limit: 1 to 1000"))
    found = data.ticket_list(
        state(request).engine, status=chosen, tid=tid.strip().upper() or None, limit=limit
    )
    return {"tickets": [data.summary(x) for x in found]}


@router.post("/api/support/tickets", tags=["support"], status_code=201)
def start_api(request: Request, session: Operator, case: NewCase) -> dict[str, Any]:
    """Start a case (audited; needs X-CSRF-Token): the ticket with the desk's first step."""
    ticket_id = _start(request, session, case, None)
    return _ticket_context(request, ticket_id)["data"]  # type: ignore[no-any-return]


@router.get("/api/support/tickets/{ticket_id}", tags=["support"])
def ticket_api(request: Request, session: Viewer, ticket_id: int) -> dict[str, Any]:
    """One ticket: what was reported, the answers, the ranking at each step, the latest
    result (causes, next question, what was read, escalation), who handled it and when."""
    return _ticket_context(request, ticket_id)["data"]  # type: ignore[no-any-return]


@router.post("/api/support/tickets/{ticket_id}/answers", tags=["support"])
def answer_api(
    request: Request, session: Operator, ticket_id: int, given: Answer
) -> dict[str, Any]:
    """Answer a question (``unknown`` for "don't know"; audited; needs X-CSRF-Token)."""
    st = state(request)
    with _refusals(request):
        desk.answer(st.engine, st.clock, st.desk, session.user, ticket_id, given.question,
                    given.answer)  # fmt: skip
    return ticket_api(request, session, ticket_id)


@router.post("/api/support/tickets/{ticket_id}/photo", tags=["support"])
def photo_api(
    request: Request, session: Operator, ticket_id: int, photo: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """Upload a photo of the screen (multipart field ``photo``, at most 10 MB; audited; needs
    X-CSRF-Token): it is read with OCR and the case ranked again."""
    _photo(request, session, ticket_id, photo)
    return ticket_api(request, session, ticket_id)


@router.post("/api/support/tickets/{ticket_id}/close", tags=["support"])
def close_api(request: Request, session: Operator, ticket_id: int) -> dict[str, Any]:
    """Close the ticket (audited; needs X-CSRF-Token); its latest top cause is the final one."""
    _close(request, session, ticket_id)
    return ticket_api(request, session, ticket_id)

"""The terminal page, ``/api/terminals/{tid}``, and the terminal actions (operator and up).

Page actions are plain form posts answered with a redirect back to the page (post, redirect,
get), so a reload never repeats an action; the API variants take the CSRF token in the
``X-CSRF-Token`` header and answer JSON.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from possettle.console.actions import Action, terminal_action
from possettle.console.data.support import summary, ticket_list
from possettle.console.data.terminal import terminal
from possettle.console.errors import ActionRefused
from possettle.console.i18n import t
from possettle.console.web import Operator, Viewer, language, render, state
from possettle.doctor.catalog import BY_ID

router = APIRouter()


def _data(request: Request, tid: str) -> dict[str, Any]:
    st = state(request)
    data = terminal(st.engine, tid.upper(), st.clock, st.zone)
    if data is None:
        raise HTTPException(404, t(language(request), "not_found"))
    return data


def _act(request: Request, session: Operator, tid: str, action: str) -> dict[str, Any]:
    st = state(request)
    try:
        chosen = Action(action)
    except ValueError:
        raise HTTPException(404, t(language(request), "no_action")) from None
    try:
        outcome = terminal_action(st.engine, st.clock, session.user, tid.upper(), chosen)
    except ActionRefused as e:
        raise HTTPException(409, str(e)) from e
    return {"action": outcome.action, "target": outcome.target, "at": outcome.at.isoformat(),
            "by": session.user.username, **outcome.result}  # fmt: skip


@router.get("/terminals/{tid}", include_in_schema=False)
def terminal_page(request: Request, session: Viewer, tid: str, done: str = "") -> Response:
    data = _data(request, tid)
    # the Support desk's tickets about this terminal (pages/support.py)
    tickets = [summary(x) for x in ticket_list(state(request).engine, tid=data["tid"], limit=50)]
    context = {"data": data, "causes": BY_ID, "done": done, "tickets": tickets}
    return render(request, "terminal.html", session, context)


@router.get("/api/terminals/{tid}", tags=["terminals"])
def terminal_api(request: Request, session: Viewer, tid: str) -> dict[str, Any]:
    """Registry row, liveness, timeline, the terminal's last report and the host's diagnosis."""
    return _data(request, tid)


@router.post("/terminals/{tid}/actions/{action}", include_in_schema=False)
def terminal_action_form(request: Request, session: Operator, tid: str, action: str) -> Response:
    _act(request, session, tid, action)
    return RedirectResponse(f"/terminals/{tid.upper()}?done={action}", status_code=303)


@router.post("/api/terminals/{tid}/actions/{action}", tags=["terminals"])
def terminal_action_api(
    request: Request, session: Operator, tid: str, action: str
) -> dict[str, Any]:
    """Run ``doctor``, ``signon``, ``disable`` or ``enable`` (audited); needs X-CSRF-Token."""
    return _act(request, session, tid, action)

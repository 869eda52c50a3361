"""The alerts page and ``/api/alerts``: open and past alerts; acknowledge with a note; resolve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from possettle.console.actions import acknowledge, resolve
from possettle.console.data.alerts import alert_list
from possettle.console.errors import ActionRefused
from possettle.console.web import Operator, Viewer, render, state

router = APIRouter()


@router.get("/alerts", include_in_schema=False)
def alerts_page(request: Request, session: Viewer) -> Response:
    return render(request, "alerts.html", session, {"data": alert_list(state(request).engine)})


@router.get("/api/alerts", tags=["alerts"])
def alerts_api(request: Request, session: Viewer) -> dict[str, Any]:
    """Open (and acknowledged) alerts, newest first, and the latest resolved ones."""
    return alert_list(state(request).engine)


def _ack(request: Request, session: Operator, alert_id: int, note: str) -> dict[str, Any]:
    st = state(request)
    try:
        done = acknowledge(st.engine, st.clock, session.user, alert_id, note)
    except ActionRefused as e:
        raise HTTPException(409, str(e)) from e
    return {"action": done.action, "target": done.target, "at": done.at.isoformat(),
            "by": session.user.username}  # fmt: skip


def _resolve(request: Request, session: Operator, alert_id: int) -> dict[str, Any]:
    st = state(request)
    try:
        done = resolve(st.engine, st.clock, session.user, alert_id)
    except ActionRefused as e:
        raise HTTPException(409, str(e)) from e
    return {"action": done.action, "target": done.target, "at": done.at.isoformat(),
            "by": session.user.username}  # fmt: skip


@router.post("/alerts/{alert_id}/ack", include_in_schema=False)
def ack_form(
    request: Request, session: Operator, alert_id: int, note: Annotated[str, Form()] = ""
) -> Response:
    _ack(request, session, alert_id, note)
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/{alert_id}/resolve", include_in_schema=False)
def resolve_form(request: Request, session: Operator, alert_id: int) -> Response:
    _resolve(request, session, alert_id)
    return RedirectResponse("/alerts", status_code=303)


@router.post("/api/alerts/{alert_id}/ack", tags=["alerts"])
def ack_api(request: Request, session: Operator, alert_id: int, note: str = "") -> dict[str, Any]:
    """Acknowledge an open alert with a note (audited); needs X-CSRF-Token."""
    return _ack(request, session, alert_id, note)


@router.post("/api/alerts/{alert_id}/resolve", tags=["alerts"])
def resolve_api(request: Request, session: Operator, alert_id: int) -> dict[str, Any]:
    """Resolve an alert by hand (audited); needs X-CSRF-Token."""
    return _resolve(request, session, alert_id)

"""User management (admin only): list users with their lock state, add a user.

Adding a user is audited like any other console action; passwords are hashed with scrypt
before they reach the database and never echoed back.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from possettle.console import bridge
from possettle.console.auth import add_user, list_users
from possettle.console.errors import UserExists, UserRejected
from possettle.console.web import Admin, AdminViewer, render, state
from possettle.ledger.kinds import ConsoleRole

router = APIRouter()


@router.get("/users", include_in_schema=False)
def users_page(request: Request, session: AdminViewer) -> Response:
    data = {"users": list_users(state(request).engine), "roles": [r.value for r in ConsoleRole]}
    return render(request, "users.html", session, {"data": data})


@router.get("/api/users", tags=["users"])
def users_api(request: Request, session: AdminViewer) -> dict[str, Any]:
    """Console users, their roles and lock state (admin only)."""
    return {"users": list_users(state(request).engine)}


@router.post("/users", include_in_schema=False)
def add_user_form(
    request: Request,
    session: Admin,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
) -> Response:
    st = state(request)
    now = st.clock.now()
    try:
        chosen = ConsoleRole(role)
    except ValueError as e:
        raise HTTPException(422, str(e)) from e
    try:
        add_user(st.engine, username.strip(), password, chosen, now)
    except UserExists as e:
        raise HTTPException(409, str(e)) from e
    except UserRejected as e:
        raise HTTPException(422, str(e)) from e
    with st.engine.begin() as conn:
        bridge.record(conn, session.user.username, "user.add", username.strip()[:60],
                     {"role": chosen.value}, now)  # fmt: skip
    return RedirectResponse("/users", status_code=303)

"""Logging in and out.

The login form has no session yet, so it is protected from cross-site posting with a
double-submit token: the form page sets a random cookie and the same value in a hidden field,
and the post must carry both. The session cookie is HttpOnly and SameSite=Lax, and Secure when
the console runs behind TLS (``secure_cookies``).
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from possettle.console.auth import authenticate, close_session, csrf_ok, open_session
from possettle.console.errors import LoginRefused
from possettle.console.i18n import t
from possettle.console.web import SESSION_COOKIE, Acting, language, render, scrub, state

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "possettle_login_csrf"


def _safe_next(target: str) -> str:
    """Only a local path may follow a login (no open redirect to another site)."""
    target = scrub(target[:200])
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _form(request: Request, next_: str, error: str | None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", None,
        {"login_csrf": token, "next": _safe_next(next_), "error": error},
        status_code=status_code,
    )  # fmt: skip
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax",
        secure=state(request).secure_cookies, max_age=3600,
    )  # fmt: skip
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return _form(request, next, None)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    st = state(request)
    lang = language(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not csrf_ok(cookie, csrf_token):
        return _form(request, next, t(lang, "bad_csrf"), status_code=403)
    now = st.clock.now()
    try:
        user = authenticate(st.engine, username.strip(), password, now)
    except LoginRefused as refused:
        if refused.locked_until is not None:
            until = st.zone.show(refused.locked_until, seconds=False)
            return _form(request, next, t(lang, "locked", until=until), status_code=429)
        return _form(request, next, t(lang, "bad_login"), status_code=401)
    token = open_session(st.engine, user, now, st.session_ttl)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=st.secure_cookies,
        max_age=int(st.session_ttl.total_seconds()),
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, session: Acting) -> Response:
    """Logging out changes state too, so it needs the session's CSRF token like any action."""
    close_session(state(request).engine, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response

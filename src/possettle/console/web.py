"""What every console route shares: the app's state, who is asking, role and CSRF checks, and
rendering a page in the reader's language.

Checks are FastAPI dependencies so a route states its needs in its signature
(``Depends(acting(ConsoleRole.OPERATOR))``) and cannot forget one: a missing session becomes
:class:`LoginRequired` (a redirect to the login page, or 401 under ``/api/``), a role too low
or a wrong CSRF token becomes 403.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from starlette.responses import Response

from possettle.cards import luhn_ok, mask_pan
from possettle.clock import Clock
from possettle.console.auth import Session, csrf_ok, load_session
from possettle.console.display import Zone, amount, version
from possettle.console.errors import LoginRequired
from possettle.console.i18n import LANG_COOKIE, kind, pick_language, step, t
from possettle.doctor.catalog import Group
from possettle.doctor.wording import WordingError, say
from possettle.ledger.kinds import ConsoleRole

if TYPE_CHECKING:
    from possettle.console.desk import Desk

SESSION_COOKIE = "possettle_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass
class ConsoleState:
    """Everything a request needs, passed in by :func:`possettle.console.app.create_app`."""

    engine: Engine
    clock: Clock
    secure_cookies: bool
    templates: Jinja2Templates
    session_ttl: timedelta
    zone: Zone  # every time a person reads is shown in it (console/display.py)
    desk: Desk  # the Support desk's engine, OCR and lists (console/desk.py)


def state(request: Request) -> ConsoleState:
    found: ConsoleState = request.app.state.console
    return found


def language(request: Request) -> str:
    q = request.query_params
    return pick_language(
        q.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
    )


def current_session(request: Request) -> Session | None:
    st = state(request)
    return load_session(st.engine, request.cookies.get(SESSION_COOKIE), st.clock.now())


def viewing(role: ConsoleRole = ConsoleRole.VIEWER) -> Callable[[Request], Session]:
    """A dependency: a live session whose role is at least ``role``."""

    def check(request: Request) -> Session:
        session = current_session(request)
        if session is None:
            raise LoginRequired()
        if not session.user.can(role):
            raise HTTPException(403, t(language(request), "forbidden"))
        return session

    return check


def acting(role: ConsoleRole) -> Callable[[Request], Awaitable[Session]]:
    """A dependency for state-changing requests: the role, then the session's CSRF token."""
    allowed = viewing(role)

    async def check(request: Request) -> Session:
        session = allowed(request)
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.method == "POST":
            form = await request.form()  # Starlette caches it for the route's Form() params
            field = form.get(CSRF_FIELD)
            given = field if isinstance(field, str) else None
        if not csrf_ok(session.csrf_token, given):
            raise HTTPException(403, t(language(request), "bad_csrf"))
        return session

    return check


Viewer = Annotated[Session, Depends(viewing())]
Acting = Annotated[Session, Depends(acting(ConsoleRole.VIEWER))]
Operator = Annotated[Session, Depends(acting(ConsoleRole.OPERATOR))]
Admin = Annotated[Session, Depends(acting(ConsoleRole.ADMIN))]
AdminViewer = Annotated[Session, Depends(viewing(ConsoleRole.ADMIN))]


def render(
    request: Request,
    name: str,
    session: Session | None,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    """A page in the reader's language; a ``?lang=`` choice is remembered in a cookie."""
    st = state(request)
    lang = language(request)
    base = {
        "lang": lang,
        "t": lambda key, **kw: t(lang, key, **kw),
        "k": lambda word: kind(lang, word),
        "user": session.user if session else None,
        "csrf": session.csrf_token if session else "",
        "csrf_field": CSRF_FIELD,
        "now": st.clock.now(),
        # the one way amounts, times and versions are shown (console/display.py)
        "money": lambda minor, currency="156": amount(lang, minor, currency),
        "when": st.zone.show,
        "version": version,
        "zone": st.zone,
        "area": lambda name: _area(lang, name),
        "group": lambda name: _group(lang, name),
        "step": lambda name: step(lang, name),
        "path": request.url.path,
        "can_act": bool(session and session.user.can(ConsoleRole.OPERATOR)),
        "is_admin": bool(session and session.user.can(ConsoleRole.ADMIN)),
    }
    response = st.templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status_code
    )
    chosen = request.query_params.get("lang")
    if chosen in ("en", "zh") and chosen != request.cookies.get(LANG_COOKIE):
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax")
    return response


def _area(lang: str, name: str) -> str:
    """A doctor check area (``network``) in the reader's language, from the doctor's wording."""
    try:
        return say(f"area.{name}").of("zh" if lang == "zh" else "en")
    except WordingError:
        return name


def _group(lang: str, name: str | None) -> str:
    """A cause group (``software``) in the reader's language."""
    try:
        return Group(name).text.of("zh" if lang == "zh" else "en") if name else ""
    except ValueError:
        return name or ""


def iso(value: datetime | None) -> str | None:
    """Timestamps in API data: ISO 8601 UTC, or None."""
    return value.isoformat() if value is not None else None


_PAN_LIKE = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def scrub(text: str) -> str:
    """Text a user typed, safe to show again: digit runs that pass Luhn are masked (6 + 4).

    Search boxes and ``?next=`` are echoed back into pages; someone may paste a card number
    into one, and the page must not then display it in clear (design.md, "Card data").
    """
    return _PAN_LIKE.sub(lambda m: mask_pan(m.group()) if luhn_ok(m.group()) else m.group(), text)

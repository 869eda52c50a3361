"""The console's FastAPI app: pages, the JSON API behind them, static files, ``/metrics``.

``create_app`` takes the ledger (a URL or an engine), the one clock and whether cookies must
be Secure (behind TLS), and wires the page routers. Errors are answered in kind: a page gets
an HTML page (a login redirect when there is no session), ``/api/`` gets JSON with a 401, 403,
404, 409 or 422. No error page echoes request data or a traceback, so card data a client put in
a URL cannot come back out. Every response carries headers that forbid framing and sniffing,
and a Content-Security-Policy that allows scripts from the console itself only (the vendored
htmx and Chart.js; chart data travels as JSON, not inline script).

``/metrics`` is mounted without login, like any Prometheus target: it carries bounded labels
only (never a TID or a PAN) and is meant to be reached from the monitoring network; put the
console behind a proxy that limits ``/metrics`` if the console port is exposed more widely.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from possettle.clock import Clock, SystemClock
from possettle.console import bridge
from possettle.console.auth import SESSION_TTL
from possettle.console.desk import PHOTO_LIMIT, Desk
from possettle.console.display import DEFAULT_ZONE, Zone
from possettle.console.errors import LoginRequired
from possettle.console.i18n import t
from possettle.console.limits import BodyLimit
from possettle.console.pages import (
    alerts,
    fleet,
    login,
    settlements,
    support,
    terminal,
    transactions,
    users,
)
from possettle.console.web import ConsoleState, current_session, language, render
from possettle.ledger.engine import create_engine_for

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
}


def _package_dir() -> Path:
    # templates/ and static/ ship inside the package (hatch includes them in the wheel)
    return Path(__file__).resolve().parent


def create_app(
    db: str | Engine,
    *,
    clock: Clock | None = None,
    secure_cookies: bool = False,
    session_ttl: timedelta = SESSION_TTL,
    zone: Zone | str = DEFAULT_ZONE,
    desk: Desk | None = None,
) -> FastAPI:
    """The console app on the ledger ``db`` (a URL, or an engine the caller owns); times are
    shown in ``zone`` (the shop's, Beijing time by default: console/display.py). ``desk`` is
    the Support desk's engine and OCR (console/desk.py; the support package's by default)."""
    shown = zone if isinstance(zone, Zone) else Zone.named(zone)
    owned = isinstance(db, str)
    engine = create_engine_for(db) if isinstance(db, str) else db
    here = _package_dir()
    templates = Jinja2Templates(directory=str(here / "templates"))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:  # an engine the caller passed in is the caller's to dispose
            engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="possettle console",
        description="Fleet, settlements, terminals, transactions and alerts of a possettle host.",
        # Swagger UI loads its scripts from a CDN, which the CSP (and an offline site) forbids;
        # /openapi.json is the description, for any OpenAPI viewer or client generator
        docs_url=None,
        redoc_url=None,
    )
    app.state.console = ConsoleState(
        engine,
        clock or SystemClock(),
        secure_cookies,
        templates,
        session_ttl,
        shown,
        desk or Desk.real(),
    )
    app.mount("/static", StaticFiles(directory=str(here / "static")), name="static")
    for page in (login, fleet, settlements, terminal, transactions, alerts, users, support):
        app.include_router(page.router)
    _errors(app)
    _metrics(app, engine)

    @app.middleware("http")
    async def _headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # the largest body: a photo of the screen and its form fields (console/limits.py)
    app.add_middleware(BodyLimit, limit=PHOTO_LIMIT + 64 * 1024)

    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _errors(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "log in first"}, status_code=401)
        target = request.url.path
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=exc.status_code)
        session = await run_in_threadpool(current_session, request)
        return render(request, "error.html", session, {"message": message}, exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # name the fields, never echo their values (a PAN typed into a box stays out)
        where = sorted({".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()})
        message = t(language(request), "invalid_request", where=", ".join(where))
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=422)
        session = await run_in_threadpool(current_session, request)
        return render(request, "error.html", session, {"message": message}, 422)


def _metrics(app: FastAPI, engine: Engine) -> None:
    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        body, content_type = bridge.metrics(engine)
        return Response(body, media_type=content_type)

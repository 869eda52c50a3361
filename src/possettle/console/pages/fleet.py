"""The fleet page and ``/api/fleet``: terminals by merchant and region, with filters."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from possettle.console.data.fleet import fleet
from possettle.console.web import Viewer, render, scrub, state

router = APIRouter()


def _data(request: Request, q: str, region: str, status: str, merchant: str) -> dict[str, Any]:
    st = state(request)
    return fleet(
        st.engine, st.clock.now(), q=scrub(q[:60]), region=scrub(region[:40]),
        status=status[:20], merchant=scrub(merchant[:15]),
    )  # fmt: skip


@router.get("/", include_in_schema=False)
def fleet_page(
    request: Request, session: Viewer, q: str = "", region: str = "", status: str = "",
    merchant: str = "",
) -> Response:  # fmt: skip
    data = _data(request, q, region, status, merchant)
    # htmx asks for the table alone when the filters change or the page refreshes itself
    name = "fleet_rows.html" if request.headers.get("hx-request") else "fleet.html"
    return render(request, name, session, {"data": data})


@router.get("/api/fleet", tags=["fleet"])
def fleet_api(
    request: Request, session: Viewer, q: str = "", region: str = "", status: str = "",
    merchant: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Terminals with liveness, open batch, last report and last settlement."""
    return _data(request, q, region, status, merchant)

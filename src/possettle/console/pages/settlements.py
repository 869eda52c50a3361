"""The settlements page and ``/api/settlements``: outcomes per day and terminal, and charts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from possettle.console.data.settlements import settlements
from possettle.console.i18n import t
from possettle.console.web import Viewer, language, render, scrub, state
from possettle.doctor.catalog import BY_ID, Group

router = APIRouter()


def _data(request: Request, day: str, tid: str, result: str) -> dict[str, Any]:
    st = state(request)
    return settlements(
        st.engine, zone=st.zone, day=scrub(day[:10]), tid=scrub(tid[:8]), result=result[:30]
    )


@router.get("/settlements", include_in_schema=False)
def settlements_page(
    request: Request, session: Viewer, day: str = "", tid: str = "", result: str = ""
) -> Response:
    data = _data(request, day, tid, result)
    zh = language(request) == "zh"
    groups = {g.value: g.text.zh if zh else g.text.en for g in Group}
    groups["unknown"] = t(language(request), "cause_unknown")
    return render(
        request, "settlements.html", session, {"data": data, "causes": BY_ID, "groups": groups}
    )


@router.get("/api/settlements", tags=["settlements"])
def settlements_api(
    request: Request, session: Viewer, day: str = "", tid: str = "", result: str = ""
) -> dict[str, Any]:
    """Each settlement's outcome, step and cause; success rate per day; failures by cause/group."""
    return _data(request, day, tid, result)

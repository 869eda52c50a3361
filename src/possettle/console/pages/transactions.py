"""The transactions page and ``/api/transactions``: search, and one transaction's history."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from possettle.console.data.transactions import history, search
from possettle.console.i18n import t
from possettle.console.web import Viewer, language, render, scrub, state

router = APIRouter()


def _int(value: str, what: str, lang: str) -> int | None:
    """Search boxes arrive as text; a bad number is a 422 that names the box (in ``lang``)."""
    if not value.strip():
        return None
    # more than 12 digits is more than any batch or amount (maybe a card number), and the
    # value is never echoed: it may be a card number typed into the wrong box
    if len(value.strip()) > 12 or not value.strip().isdigit():
        raise HTTPException(422, t(lang, "bad_number", what=t(lang, what)))
    return int(value.strip())


def _date(value: str, lang: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(422, t(lang, "bad_date")) from None


def _search(
    request: Request, tid: str, batch: str, stan: str, rrn: str, day: str, amount: str, last4: str
) -> dict[str, Any]:
    # identifiers are cut to their field sizes (TID 8, STAN 6, RRN 12, last 4): nothing longer
    # can match, and a pasted card number is not echoed back in the filters
    lang = language(request)
    return search(
        state(request).engine, tid=scrub(tid[:8]), batch=_int(batch, "batch", lang),
        stan=scrub(stan[:6]), rrn=scrub(rrn[:12]), day=_date(day, lang),
        amount=_int(amount, "amount_fen", lang), last4=scrub(last4[-4:]),
    )  # fmt: skip


@router.get("/transactions", include_in_schema=False)
def transactions_page(
    request: Request, session: Viewer, tid: str = "", batch: str = "", stan: str = "",
    rrn: str = "", date: str = "", amount: str = "", last4: str = "",
) -> Response:  # fmt: skip
    data = _search(request, tid, batch, stan, rrn, date, amount, last4)
    return render(request, "transactions.html", session, {"data": data})


@router.get("/api/transactions", tags=["transactions"])
def transactions_api(
    request: Request, session: Viewer, tid: str = "", batch: str = "", stan: str = "",
    rrn: str = "", date: str = "", amount: str = "", last4: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Ledger entries matching every given criterion (amount in minor units, card by last 4)."""
    return _search(request, tid, batch, stan, rrn, date, amount, last4)


def _history(request: Request, entry_id: int) -> dict[str, Any]:
    data = history(state(request).engine, entry_id)
    if data is None:
        raise HTTPException(404, t(language(request), "not_found"))
    return data


@router.get("/transactions/{entry_id}", include_in_schema=False)
def transaction_page(request: Request, session: Viewer, entry_id: int) -> Response:
    return render(request, "transaction.html", session, {"data": _history(request, entry_id)})


@router.get("/api/transactions/{entry_id}", tags=["transactions"])
def transaction_api(request: Request, session: Viewer, entry_id: int) -> dict[str, Any]:
    """One transaction: approval, void, refund, reversal, settlement, upload, exceptions."""
    return _history(request, entry_id)

"""No page or API response shows a clear PAN of the day (design.md, "Card data").

The ledger only holds masked PANs, so this guards the console's own code: a new column, an
error page echoing input, a debug dump. Every page and API response, for every role, is
scanned for runs of 13 to 19 digits that pass the Luhn check and are PANs the day used, and
for the PANs themselves anywhere in the text.
"""

from __future__ import annotations

import re

import pytest

from possettle.sim.day import CUP_PANS, FOREIGN_PANS
from tests.console.conftest import Console

DAY_PANS = set(CUP_PANS + FOREIGN_PANS)
DIGIT_RUNS = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def clear_pans(text: str) -> list[str]:
    runs = [r for r in DIGIT_RUNS.findall(text) if luhn_ok(r) and r in DAY_PANS]
    return runs + [p for p in DAY_PANS if p in text]


def test_the_scanner_finds_a_clear_pan() -> None:
    assert clear_pans(f"card {CUP_PANS[0]} ok") == [CUP_PANS[0], CUP_PANS[0]]
    assert clear_pans("622202*********0128") == []


async def _paths(console: Console) -> list[str]:
    api = (await console.client.get("/api/transactions")).json()
    entries = [f"/transactions/{t['id']}" for t in api["transactions"]]
    entries += [f"/api/transactions/{t['id']}" for t in api["transactions"]]
    fleet = (await console.client.get("/api/fleet")).json()
    terminals = [f"/terminals/{t['tid']}" for t in fleet["terminals"]]
    terminals += [f"/api/terminals/{t['tid']}" for t in fleet["terminals"]]
    return [
        "/", "/settlements", "/transactions", "/alerts", "/users", "/api/fleet",
        "/api/settlements", "/api/transactions", "/api/alerts", "/api/users", "/openapi.json",
        "/support", "/api/support/tickets",
        *entries, *terminals,
        # input that looks like a PAN must not be echoed back, on pages or in errors
        f"/transactions?amount={CUP_PANS[0]}x", f"/api/transactions?batch={CUP_PANS[1]}x",
        f"/transactions?rrn={FOREIGN_PANS[0]}", f"/terminals/{FOREIGN_PANS[1]}",
        f"/api/transactions?date={CUP_PANS[2]}",
    ]  # fmt: skip


@pytest.mark.parametrize("role", ["viewer", "admin"])
async def test_no_page_or_api_response_shows_a_clear_pan(console: Console, role: str) -> None:
    await console.login(role)
    paths = await _paths(console)
    assert len(paths) > 40
    for path in paths:
        for lang in ("en", "zh"):
            sep = "&" if "?" in path else "?"
            response = await console.client.get(f"{path}{sep}lang={lang}")
            assert response.status_code < 500, path
            assert clear_pans(response.text) == [], path

"""Operators and local rules through ``possettle terminal ... --json``, as a shop runs them.

Every refusal exits 1 with ``{"ok": false, "refused": {code, en, zh, details}}``, has a
message in English and in Chinese, and is journaled as a ``refused`` event for the doctor.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from possettle.clock import FixedClock
from possettle.terminal.config import JOURNAL_FILE
from possettle.terminal.errors import Refused
from possettle.terminal.operators import Role
from tests.host.harness import register, running_host
from tests.terminal.faults import Run, cli, host_view
from tests.terminal.harness import CUP_PAN, make_terminal, open_pos
from tests.terminal.scenario import closed_port

CJK = re.compile(r"[\u4e00-\u9fff]")
SALE = ("sale", "--amount", "12.00", "--pan", CUP_PAN, "--expiry", "3012")


def refused(run: Run, code: str) -> dict[str, Any]:
    assert run.code == 1, run.stdout + run.stderr
    data = run.json()
    assert data["ok"] is False
    r = data["refused"]
    assert isinstance(r, dict)
    assert r["code"] == code, r
    assert r["en"].strip() and not CJK.search(r["en"]), r
    assert CJK.search(r["zh"]), r
    return r


def refusal_events(directory: Path) -> list[tuple[str, str]]:
    """(code, operation) of every ``refused`` event, oldest first (read-only)."""
    db = sqlite3.connect(f"file:{directory / JOURNAL_FILE}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT code, json_extract(detail, '$.operation'), json_extract(detail, '$.en'),"
            " json_extract(detail, '$.zh') FROM events WHERE kind = 'refused' ORDER BY id"
        ).fetchall()
    finally:
        db.close()
    assert all(en and zh for _, _, en, zh in rows)
    return [(code, op) for code, op, _, _ in rows]


async def with_operators(directory: Path) -> None:
    """Supervisor 00 (password 9876) and cashiers 01, 02 (1357, 2468), added in-process."""
    pos = open_pos(directory)
    try:
        pos.add_operator("00", "Wang Fang", Role.SUPERVISOR, "9876")
        pos.add_operator("01", "Li Lei", Role.CASHIER, "1357", "00", "9876")
        pos.add_operator("02", "Han Mei", Role.CASHIER, "2468", "00", "9876")
    finally:
        await pos.close()


async def test_the_first_operator_needs_no_login_and_later_ones_a_supervisor(
    tmp_path: Path,
) -> None:
    term = make_terminal(tmp_path / "t", closed_port())
    add = ("operator", "add", "--new-password")
    first = await cli(term, *add, "9876", "--id", "00", "--name", "Wang", "--role", "supervisor")
    assert first.code == 0, first.stdout + first.stderr
    assert first.json() == {"id": "00", "name": "Wang", "role": "supervisor"}

    cashier = ("--id", "01", "--name", "Li", "--role", "cashier")
    anonymous, by_supervisor = await asyncio.gather(
        cli(term, *add, "1357", *cashier),
        cli(term, *add, "1357", *cashier, "--operator", "00", "--password", "9876"),
    )
    refused(anonymous, "operator.required")
    assert by_supervisor.code == 0, by_supervisor.stdout + by_supervisor.stderr
    pos = open_pos(term)
    try:
        with pytest.raises(Refused) as info:
            pos.add_operator("02", "Han", Role.CASHIER, "2468", "01", "1357")
        assert info.value.code == "permission.role"
        assert [(o.id, o.role) for o in pos.operators.list()] == [
            ("00", Role.SUPERVISOR),
            ("01", Role.CASHIER),
        ]
    finally:
        await pos.close()
    assert refusal_events(term) == [
        ("operator.required", "sign_on"),
        ("permission.role", "sign_on"),
    ]


async def test_three_wrong_passwords_lock_the_cashier_and_each_refusal_is_journaled(
    tmp_path: Path,
) -> None:
    term = make_terminal(tmp_path / "t", closed_port())
    await with_operators(term)
    # Three tries at once from three processes: the journal counts every one of them.
    wrong = ("--operator", "01", "--password", "0000")
    runs = await asyncio.gather(*(cli(term, *SALE, *wrong) for _ in range(3)))
    by_code: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        code = r.json()["refused"]["code"]  # type: ignore[index]
        by_code.setdefault(code, []).append(refused(r, code))
    assert sorted(by_code) == ["operator.bad_password", "operator.locked"]
    bad = by_code["operator.bad_password"]
    assert sorted(b["details"]["attempts_left"] for b in bad) == [1, 2]
    [locked] = by_code["operator.locked"]
    assert locked["details"]["locked_now"] is True
    # The right password does not open a locked account; another operator still works.
    pos = open_pos(term, FixedClock(datetime.now(UTC)))  # the CLI's clock is the real one
    try:
        with pytest.raises(Refused) as info:
            pos.login("01", "1357")
        assert info.value.code == "operator.locked"
        assert info.value.details["locked_now"] is False
        assert pos.login("02", "2468").id == "02"
    finally:
        await pos.close()
    assert sorted(refusal_events(term)) == [
        ("operator.bad_password", "sign_on"),
        ("operator.bad_password", "sign_on"),
        ("operator.locked", "sign_on"),
        ("operator.locked", "sign_on"),
    ]


async def test_limits_and_business_hours_refuse_before_anything_is_sent(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    # A shop that opens two hours from now (Beijing time), whenever the test runs.
    now = datetime.now(UTC).astimezone(timezone(timedelta(hours=8)))
    hours = {
        "open": f"{(now + timedelta(hours=2)):%H:%M}",
        "close": f"{(now + timedelta(hours=3)):%H:%M}",
    }
    async with running_host(sqlite_url, key_file) as host:
        shop = make_terminal(tmp_path / "shop", host.port, policy={"settlement_window": "always"})
        closed = make_terminal(
            tmp_path / "closed", host.port, policy={"business_hours": hours}, tid="87654321"
        )
        await with_operators(shop)
        pos = open_pos(shop)
        try:
            sale = await pos.sale(CUP_PAN, 150_000, expiry="3012")
            assert sale.approved
        finally:
            await pos.close()
        refund = (
            "refund", "--amount", "1500.00", "--orig-batch", str(sale.batch),
            "--orig-stan", str(sale.stan), "--operator", "02", "--password", "2468",
        )  # fmt: skip
        # A third shop whose line is cut, asked for more than it may approve offline.
        small = {"offline": {"max_amount": 1000}}
        cut = make_terminal(tmp_path / "cut", closed_port(), policy=small, tid="87654322")
        over_limit, after_hours, offline = await asyncio.gather(
            cli(shop, *refund), cli(closed, *SALE), cli(cut, *SALE)
        )
        offline_refusal = refused(offline, "limit.offline_amount")
        assert offline_refusal["details"]["host"] == "unreachable"
        assert "主机" in offline_refusal["zh"]
        limit = refused(over_limit, "limit.amount")
        assert (limit["details"]["operation"], limit["details"]["limit"]) == ("refund", 100_000)
        hours_refusal = refused(after_hours, "hours.closed")
        assert hours_refusal["details"]["start"] == hours["open"]
        pos = open_pos(shop)
        try:
            settle = await pos.settle()
            assert settle.ok and settle.result == "balanced", settle.as_dict()
        finally:
            await pos.close()

    assert refusal_events(shop) == [("limit.amount", "refund")]
    assert refusal_events(closed) == [("hours.closed", "sale")]
    assert refusal_events(cut) == [("limit.offline_amount", "offline_sale")]
    view = host_view(sqlite_url, [shop, closed])
    assert view.lost == [] and view.duplicated == []
    assert view.terminal_approved == 1 and view.host_live == 1

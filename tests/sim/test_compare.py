"""Terminal journals against a real host ledger: nothing lost, nothing counted twice — and a
duplicate planted in the ledger is counted."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import ledger_entries
from possettle.sim.compare import compare
from tests.host.harness import register, running_host
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN, make_terminal, open_pos

LE = ledger_entries.c


@pytest.fixture
async def day(tmp_path: Path, sqlite_url: str) -> tuple[sa.Engine, Path, list[int]]:
    """Three real sales through a running host; the host ledger and the terminal's directory."""
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        pos = open_pos(make_terminal(tmp_path / "t", host.port))
        try:
            await pos.sign_on()
            stans = []
            for pan, amount in ((CUP_PAN, 1234), (VISA_PAN, 5000), (CUP_PAN_2, 700)):
                sale = await pos.sale(pan, amount, expiry="3012")
                assert sale.approved
                stans.append(sale.stan)
        finally:
            await pos.close()
    engine = create_engine_for(sqlite_url)
    yield engine, tmp_path / "t", stans
    engine.dispose()


def _entry(engine: sa.Engine, stan: int) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(ledger_entries).where(LE.stan == f"{stan:06d}")).one()
    return dict(row._mapping)


def test_a_clean_day_counts_nothing_lost_or_duplicated(
    day: tuple[sa.Engine, Path, list[int]],
) -> None:
    engine, terminal, _ = day
    result = compare(engine, [terminal])
    assert (result.terminal_approved, result.host_live) == (3, 3)
    assert (result.lost, result.duplicated) == ([], [])


def test_one_approval_booked_again_under_another_stan_is_counted(
    day: tuple[sa.Engine, Path, list[int]],
) -> None:
    engine, terminal, stans = day
    first = _entry(engine, stans[0])
    copy = {k: v for k, v in first.items() if k != "id"} | {"stan": "000777"}
    with engine.begin() as conn:
        conn.execute(sa.insert(ledger_entries).values(**copy))
    result = compare(engine, [terminal])
    assert result.duplicated == [(first["tid"], first["batch"], 777, "sale")]
    assert result.as_dict()["duplicated"] == 1
    assert result.lost == []


def test_one_approval_booked_for_two_terminal_sales_is_counted(
    day: tuple[sa.Engine, Path, list[int]],
) -> None:
    """The host answered and booked the third sale with the first one's approval (its RRN):
    the terminal holds both sales as approved, so no key is missing on either side — yet the
    issuer authorized one of them only."""
    engine, terminal, stans = day
    first, third = _entry(engine, stans[0]), _entry(engine, stans[2])
    with engine.begin() as conn:
        conn.execute(
            sa.update(ledger_entries)
            .where(LE.id == third["id"])
            .values(rrn=first["rrn"], auth_code=first["auth_code"])
        )
    result = compare(engine, [terminal])
    assert result.duplicated == [(third["tid"], third["batch"], stans[2], "sale")]
    assert result.lost == []


def test_a_reversed_booking_of_the_same_approval_is_not_a_duplicate(
    day: tuple[sa.Engine, Path, list[int]],
) -> None:
    engine, terminal, stans = day
    first = _entry(engine, stans[0])
    copy = {k: v for k, v in first.items() if k != "id"} | {"stan": "000777", "reversed": True}
    with engine.begin() as conn:
        conn.execute(sa.insert(ledger_entries).values(**copy))
    assert compare(engine, [terminal]).duplicated == []

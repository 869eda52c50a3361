"""The business-day cut-over (日切) end to end: a real host, a real terminal, a fixed clock.

Every entry is stamped with the clearing day of the instant the host booked it: a void or a
reversal after the cut-over clears the next day while its original keeps its own, and a
settlement after the cut-over moves nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import sqlalchemy as sa

from possettle.clock import FixedClock
from possettle.ledger.business_day import BusinessDay
from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import ledger_entries
from possettle.link import requests as m
from tests.host.harness import MID, PAN, TID, register, running_host
from tests.host.test_flows import signed_on, totals

#: 22:59:00 in Beijing on New Year's Eve; the cut-over is one minute later
EVE = datetime(2026, 12, 31, 14, 59, 0, tzinfo=UTC)
NEW_YEAR = date(2027, 1, 1)


def _entries(url: str) -> list[tuple[str, str, date, date]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    ledger_entries.c.stan,
                    ledger_entries.c.kind,
                    ledger_entries.c.host_date,
                    ledger_entries.c.clearing_date,
                ).order_by(ledger_entries.c.id)
            ).all()
    finally:
        engine.dispose()
    return [(r.stan, r.kind, r.host_date, r.clearing_date) for r in rows]


async def test_each_entry_keeps_the_clearing_day_it_was_made(db_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    clock = FixedClock(EVE)
    async with running_host(db_url, key_file, clock=clock) as host:
        link = await signed_on(host)
        a = m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=3000, expiry="3012")
        reply_a = (await link.send(a)).reply
        assert reply_a["39"] == "00"
        b = m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=2000, expiry="3012")
        assert (await link.send(b)).code == "00"
        clock.advance(120)  # 23:01 Beijing: past the cut-over, still 31 December in UTC
        void = m.void(
            TID,
            MID,
            link.next_stan(),
            1,
            pan=PAN,
            amount=3000,
            orig_batch=1,
            orig_stan=int(a["11"]),
            rrn=reply_a["37"],
            auth_code=reply_a["38"],
        )
        assert (await link.send(void)).code == "00"
        assert (await link.send(m.reversal(b, "98"))).code == "00"
        c = m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=700, expiry="3012")
        assert (await link.send(c)).code == "00"
        before = _entries(db_url)
        clock.advance(3600)  # the terminal settles an hour after the cut-over
        ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, totals((700, 1, 0, 0))))
        assert ex.code in ("00", "95")
        await link.close()
    eve = date(2026, 12, 31)
    assert before == [
        (a["11"], "sale", eve, eve),
        (b["11"], "sale", eve, eve),
        (void["11"], "void", eve, NEW_YEAR),
        (b["11"], "reversal", eve, NEW_YEAR),
        (c["11"], "sale", eve, NEW_YEAR),
    ]
    assert _entries(db_url) == before


async def test_a_midnight_cutover_clears_on_the_local_calendar_day(
    db_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    clock = FixedClock(EVE)
    day = BusinessDay(cutover=time(0, 0))
    async with running_host(db_url, key_file, clock=clock, business_day=day) as host:
        link = await signed_on(host)
        s = m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=100, expiry="3012")
        assert (await link.send(s)).code == "00"
        await link.close()
    assert _entries(db_url) == [(s["11"], "sale", date(2026, 12, 31), date(2026, 12, 31))]

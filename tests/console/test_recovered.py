"""A settlement whose reply never reached the terminal, sent again and balanced: the host keeps
the repeat, and the console calls the batch failed, then recovered, not plain balanced."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from possettle.clock import FixedClock
from possettle.console.data.settlements import settlements
from possettle.console.data.terminal import terminal
from possettle.iso8583.fields import HalfTotals, SettlementTotals
from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import host_events
from possettle.link import requests as m
from tests.host.harness import MID, PAN, TID, register, running_host


async def test_a_settlement_sent_again_after_a_lost_reply_is_recovered(
    sqlite_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        link = host.link()
        await link.connect()
        assert (await link.sign_on()).code == "00"
        sale = m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=100, expiry="3012",
                      pin="123456", pik=link.pik)  # fmt: skip
        assert (await link.send(sale)).code == "00"
        totals = SettlementTotals(HalfTotals(100, 1, 0, 0), HalfTotals(0, 0, 0, 0))
        first = await link.send(m.settlement(TID, MID, link.next_stan(), 1, totals))
        # the reply was lost on the way: the terminal sends the same request again
        again = await link.send(first.request)
        assert again.reply["48"] == first.reply["48"]
        end = await link.send(m.upload_end(TID, MID, link.next_stan(), 1, 0, balanced=True))
        assert end.code == "00"
        await link.close()
    engine = create_engine_for(sqlite_url)
    try:
        with engine.connect() as conn:
            kinds = conn.execute(
                sa.select(host_events.c.kind).where(host_events.c.kind == "settle_repeated")
            ).all()
        assert len(kinds) == 1
        [row] = settlements(engine)["settlements"]
        assert (row["result"], row["step"], row["attempts"]) == ("recovered", "settle", 2)
        seen = terminal(engine, TID, FixedClock(row_time(engine)))
        assert seen is not None
        [repeat] = [e for e in seen["timeline"] if e["kind"] == "settle_repeated"]
        assert "the try before got no answer" in repeat["text"]["en"]
        assert "上一次未收到应答" in repeat["text"]["zh"]
    finally:
        engine.dispose()


def row_time(engine: sa.Engine) -> datetime:
    """The last event's time: the console looks at the terminal just after it."""
    with engine.connect() as conn:
        at: datetime = conn.execute(
            sa.select(host_events.c.at).order_by(host_events.c.id.desc()).limit(1)
        ).scalar_one()
    return at

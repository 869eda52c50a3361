"""Issuer trouble reaches the terminal as 98 / 91 and never as money on the ledger."""

from __future__ import annotations

from pathlib import Path

from possettle.iso8583.fields import HalfTotals, SettlementTotals
from possettle.link import requests as m
from tests.host.harness import MID, PAN, TID, register, running_host

RULES = """
[[rules]]
min_amount = 90000
max_amount = 90000
no_reply = true

[[rules]]
min_amount = 91000
max_amount = 91000
response = "91"

[[rules]]
min_amount = 51000
max_amount = 51000
response = "51"
"""


async def test_no_reply_is_98_an_outage_91_and_neither_is_booked(
    sqlite_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    key_file = tmp_path / "k"
    await register(sqlite_url, key_file)
    async with running_host(
        sqlite_url, key_file, issuer=f"sim:{rules}", issuer_timeout=0.2
    ) as host:
        link = host.link()
        assert (await link.sign_on()).code == "00"
        codes = []
        for amount in (90000, 91000, 51000, 1000):
            ex = await link.send(
                m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=amount, expiry="3012")
            )
            codes.append(ex.code)
        assert codes == ["98", "91", "51", "00"]
        claimed = SettlementTotals(HalfTotals(1000, 1), HalfTotals())
        ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, claimed))
        assert SettlementTotals.parse(ex.reply["48"]).balanced
        await link.close()

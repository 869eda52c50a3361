"""The host hands its issuer a PIN block under the zone PIN key, never a clear PIN.

As an HSM does, the host translates field 52 from the terminal's PIK to the ZPK the issuer
connector shares with its issuer; the clear PIN exists only inside ``possettle.crypto``. A
block that does not decrypt under the PIK is answered ``55`` by the host itself (stored, so a
repeat gets the same answer) without asking the issuer. End to end, the right PIN is approved
and a wrong one answered ``55`` by the simulator and by a remote ISO 8583 issuer that checks
the block under its own ZPK.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from possettle.crypto.keys import Key
from possettle.crypto.pin import decrypt_pin, encrypt_pin_block
from possettle.host.config import HostConfig
from possettle.host.server import HostServer
from possettle.iso8583.fields import HalfTotals, SettlementTotals
from possettle.ledger.database import Database
from possettle.link import requests as m
from possettle.link.client import Link
from possettle.upstream.simulator import SimulatorConnector
from tests.host.harness import MID, PAN, TID, TMK, ZPK, ApprovingIssuer, register, running_host
from tests.upstream.fake_issuer import FakeIssuer

PIN = "739182"  # digits that occur nowhere else in the request (not in the TID, MID or PAN)
ANOTHER_KEY = Key.from_hex("1C2D3E4F5A6B7C8D8D7C6B5A4F3E2D1C")
NO_TOTALS = SettlementTotals(HalfTotals(0, 0, 0, 0), HalfTotals(0, 0, 0, 0))


@contextlib.asynccontextmanager
async def host_with(
    issuer: ApprovingIssuer, url: str, key_file: Path
) -> AsyncIterator[tuple[HostServer, Link]]:
    await register(url, key_file)
    db = Database.open(url, key_file=key_file)
    await db.start()
    server = HostServer(HostConfig(db_url=url, port=0, key_file=key_file), db, issuer)
    await server.start()
    link = Link("127.0.0.1", server.port, TID, MID, TMK, timeout=5.0)
    try:
        await link.connect()
        assert (await link.sign_on()).code == "00"
        yield server, link
    finally:
        await link.close()
        await server.stop()
        await db.close()


def sale(link: Link, pin: str | None = PIN, pik: Key | None = None) -> dict[str, str]:
    return m.sale(
        TID,
        MID,
        link.next_stan(),
        link.batch,
        pan=PAN,
        amount=1_500,
        expiry="3012",
        pin=pin,
        pik=pik or link.pik,
    )


async def test_the_issuer_gets_the_pin_block_under_its_zpk_and_no_clear_pin(
    db_url: str, tmp_path: Path
) -> None:
    issuer = ApprovingIssuer("654321")
    async with host_with(issuer, db_url, tmp_path / "host.key") as (_, link):
        request = sale(link)
        assert (await link.send(request)).code == "00"
    (auth,) = issuer.asked
    assert not hasattr(auth, "pin")
    for f in dataclasses.fields(auth):
        value = getattr(auth, f.name)
        text = value.hex() if isinstance(value, bytes) else str(value)
        assert PIN not in text, f"AuthRequest.{f.name} holds the PIN digits"
        if isinstance(value, bytes):
            assert PIN.encode() not in value
    assert auth.pin_block is not None
    assert auth.pin_block != bytes.fromhex(request["52"]), "field 52 passed on untranslated"
    assert decrypt_pin(ZPK, auth.pin_block, PAN) == PIN
    assert "pin_block=<set>" in repr(auth) and auth.pin_block.hex() not in repr(auth).lower()


async def test_a_connector_without_a_zpk_gets_no_pin_block(db_url: str, tmp_path: Path) -> None:
    issuer = ApprovingIssuer(zpk=None)
    async with host_with(issuer, db_url, tmp_path / "host.key") as (_, link):
        assert (await link.send(sale(link))).code == "00"
    (auth,) = issuer.asked
    assert auth.pin_block is None


async def test_a_sale_without_a_pin_carries_no_pin_block(db_url: str, tmp_path: Path) -> None:
    issuer = ApprovingIssuer("654321")
    async with host_with(issuer, db_url, tmp_path / "host.key") as (_, link):
        assert (await link.send(sale(link, pin=None))).code == "00"
    (auth,) = issuer.asked
    assert auth.pin_block is None


@pytest.mark.parametrize("zpk", [ZPK, None], ids=["with-zpk", "without-zpk"])
async def test_a_pin_block_the_pik_cannot_open_is_answered_55_by_the_host_exactly_once(
    db_url: str, tmp_path: Path, zpk: Key | None
) -> None:
    issuer = ApprovingIssuer(zpk=zpk)
    async with host_with(issuer, db_url, tmp_path / "host.key") as (_, link):
        request = sale(link, pik=ANOTHER_KEY)  # the PIN pad used a key the host never issued
        first = await link.send(request)
        again = await link.send(request)
        settled = await link.send(m.settlement(TID, MID, link.next_stan(), link.batch, NO_TOTALS))
    assert first.code == again.code == "55"
    assert first.reply["37"] == again.reply["37"], "the repeat must get the stored answer"
    assert "38" not in first.reply and "64" not in first.reply
    assert issuer.asked == [], "an unreadable PIN block must not reach the issuer"
    assert settled.reply["48"][30] == "1", "nothing was booked: an empty batch balances"


async def test_the_simulator_approves_the_right_pin_and_answers_55_to_a_wrong_one(
    db_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "host.key"
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[issuer]\nzpk = "{ZPK.hex()}"\n\n[[cards]]\npan = "{PAN}"\npin = "{PIN}"\n')
    await register(db_url, key_file)
    async with running_host(db_url, key_file, issuer=f"sim:{rules}") as host:
        sim = host.server.issuer
        assert isinstance(sim, SimulatorConnector) and sim.zpk == ZPK
        before = sim.balance(PAN)
        link = host.link()
        await link.connect()
        await link.sign_on()
        assert (await link.send(sale(link, pin="123456"))).code == "55"
        assert (await link.send(sale(link, pin=PIN))).code == "00"
        await link.close()
        assert sim.balance(PAN) == before - 1_500


async def test_a_remote_iso8583_issuer_checks_the_pin_block_under_its_zpk(
    db_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with FakeIssuer(zpk=ZPK.material, pins={PAN: PIN}) as fake:
        spec = f"iso8583://127.0.0.1:{fake.port}?timeout=5&zpk={ZPK.hex()}"
        async with running_host(db_url, key_file, issuer=spec, issuer_timeout=5.0) as host:
            link = host.link()
            await link.connect()
            await link.sign_on()
            right = sale(link)
            assert (await link.send(right)).code == "00"
            assert (await link.send(sale(link, pin="123456"))).code == "55"
            assert (await link.send(sale(link, pik=ANOTHER_KEY))).code == "55"
            await link.close()
    assert fake.pin_checks == [True, False], "the issuer verified two blocks (not the third)"
    sent = fake.of_type("0200")
    assert len(sent) == 2
    assert sent[0]["52"] != right["52"]
    assert sent[0]["52"] == encrypt_pin_block(ZPK, PIN, PAN).hex().upper()

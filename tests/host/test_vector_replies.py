"""The host answers the golden request frames with the golden response frames, byte for byte.

Everything a host mints for itself is pinned: the clock (``Database.open(clock=)``), the
RRNs (``HostContext(rrns=)``), the working keys of a sign-on (``HostContext(issue_keys=)``)
and the authorization code, which is the issuer's (a connector that approves with the
vector's ``123456``). The ledger is then brought to the state each vector describes through
the host's own front door (real frames on a real socket), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from possettle.clock import FixedClock
from possettle.crypto.keys import Key, WorkingKeys, encode_field62
from possettle.crypto.mac import unionpay_ecb_mac, verify_mac
from possettle.crypto.pin import decrypt_pin
from possettle.host.config import HostConfig
from possettle.host.context import HostContext
from possettle.host.policy import SETTLEMENT_MAC
from possettle.host.server import HostServer
from possettle.iso8583 import codec
from possettle.iso8583.framing import FrameReader
from possettle.ledger.batches import get_batch
from possettle.ledger.database import Database
from possettle.ledger.kinds import BatchStatus
from possettle.ledger.queries import set_policy
from possettle.ledger.terminal_state import store_session_keys
from possettle.link import requests as m
from possettle.link.client import Link
from tests.host.harness import KEYS, MID, PAN, TID, TMK, ZPK, ApprovingIssuer, register
from tests.vectors.load import by_name

VECTORS = by_name()
PIK, MAK = Key.from_hex(KEYS["pik"]), Key.from_hex(KEYS["mak"])
DAY = datetime(2026, 11, 26, tzinfo=UTC)


def frame(name: str) -> bytes:
    return bytes.fromhex(VECTORS[name]["frame_hex"])


class ScriptedRrns:
    """The RRNs the host will hand out, in order (the vectors' field 37)."""

    def __init__(self) -> None:
        self.upcoming: list[str] = []

    async def next(self) -> str:
        return self.upcoming.pop(0)


def vector_keys(tmk: Key) -> tuple[WorkingKeys, bytes]:
    keys = WorkingKeys(pik=PIK, mak=MAK)
    return keys, encode_field62(tmk, keys)


@dataclass
class VectorHost:
    server: HostServer
    db: Database
    clock: FixedClock
    rrns: ScriptedRrns
    issuer: ApprovingIssuer

    async def exchange(self, request: bytes, *, at: str, rrn: str | None = None) -> bytes:
        """Send one frame at host time ``at`` (hhmmss on the vectors' day); the reply bytes."""
        self.clock.advance((self._at(at) - self.clock.now()).total_seconds())
        if rrn is not None:
            self.rrns.upcoming.append(rrn)
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        try:
            writer.write(request)
            await writer.drain()
            frames = FrameReader()
            while not (got := frames.feed(await asyncio.wait_for(reader.read(8192), 5.0))):
                pass
        finally:
            writer.close()
        assert self.rrns.upcoming == [], "the host did not take the RRN it was given"
        return got[0].to_bytes()

    @staticmethod
    def _at(hhmmss: str) -> datetime:
        return DAY.replace(hour=int(hhmmss[:2]), minute=int(hhmmss[2:4]), second=int(hhmmss[4:]))

    async def settlement_mac(self, value: str) -> None:
        """``possettle host policy --settlement-mac VALUE`` (read by the host when it needs it)."""
        await self.db.write(lambda c: set_policy(c, SETTLEMENT_MAC, value))

    async def adopt_vector_keys(self) -> None:
        """The terminal is signed on with the vectors' PIK and MAK (as after their 0810)."""
        now = self.clock.now()
        await self.db.write(
            lambda c: store_session_keys(
                c, self.db.vault, TID, PIK, MAK, at=now, software_version="000000"
            )
        )


@contextlib.asynccontextmanager
async def vector_host(url: str, key_file: Path) -> AsyncIterator[VectorHost]:
    await register(url, key_file)
    clock = FixedClock(DAY.replace(hour=8))
    rrns = ScriptedRrns()
    issuer = ApprovingIssuer()  # the vectors' field 38 is 123456
    db = Database.open(url, key_file=key_file, clock=clock)
    await db.start()
    config = HostConfig(db_url=url, port=0, key_file=key_file)
    ctx = HostContext(db, issuer, config, rrns=rrns, issue_keys=vector_keys)
    server = HostServer(config, db, issuer, context=ctx)
    await server.start()
    try:
        yield VectorHost(server, db, clock, rrns, issuer)
    finally:
        await server.stop()
        await db.close()


@pytest.fixture
async def vhost(db_url: str, tmp_path: Path) -> AsyncIterator[VectorHost]:
    async with vector_host(db_url, tmp_path / "host.key") as h:
        yield h


def assert_same_frame(got: bytes, vector: str) -> None:
    """Field by field first (a readable diff), then every byte, framing included."""
    want = frame(vector)
    assert codec.decode(got[13:]) == VECTORS[vector]["fields"]
    assert got[2:13].hex().upper() == VECTORS[vector]["tpdu"] + VECTORS[vector]["header"]
    assert got.hex().upper() == want.hex().upper()


async def test_sign_on_reply_is_the_vector_0810(vhost: VectorHost) -> None:
    reply = await vhost.exchange(frame("signon_request"), at="083015", rrn="000000000001")
    assert_same_frame(reply, "signon_response")


async def test_sale_reply_is_the_vector_0210(vhost: VectorHost) -> None:
    await vhost.adopt_vector_keys()
    reply = await vhost.exchange(frame("sale_request"), at="083020", rrn="000000000002")
    assert_same_frame(reply, "sale_response")
    (auth,) = vhost.issuer.asked
    assert (auth.amount.minor, auth.rrn) == (12345, "000000000002")
    # The vector's PIN reaches the issuer translated from the vector PIK to the issuer's ZPK.
    assert (
        auth.pin_block is not None
        and auth.pin_block.hex().upper() != VECTORS["sale_request"]["fields"]["52"].upper()
    )
    assert decrypt_pin(ZPK, auth.pin_block, PAN) == KEYS["pin"]


async def test_sign_on_then_sale_answer_both_vectors_on_one_ledger(vhost: VectorHost) -> None:
    """The 0810's keys are the ones the 0210 is MACed with: the pair holds end to end."""
    reply = await vhost.exchange(frame("signon_request"), at="083015", rrn="000000000001")
    assert_same_frame(reply, "signon_response")
    reply = await vhost.exchange(frame("sale_request"), at="083020", rrn="000000000002")
    assert_same_frame(reply, "sale_response")


async def ledger_of_the_0510(vhost: VectorHost) -> None:
    """The vector's host totals are domestic debit 2 x 203.45 and credit 1 x 50.00 against
    the terminal's 1 x 123.45 and 1 x 50.00: the ledger holds the vector sale (123.45), one
    more sale of 80.00 the terminal does not count, and the vector refund (50.00)."""
    await vhost.adopt_vector_keys()
    sale = await vhost.exchange(frame("sale_request"), at="083020", rrn="000000000002")
    assert codec.decode(sale[13:])["39"] == "00"
    link = Link("127.0.0.1", vhost.server.port, TID, MID, TMK)
    link.mak = MAK
    extra = link.encode(m.sale(TID, MID, 11, 1, pan=PAN, amount=8000, expiry="3012"))
    assert (
        codec.decode((await vhost.exchange(extra, at="090000", rrn="000000000003"))[13:])["39"]
        == "00"
    )
    refund = await vhost.exchange(frame("refund_request"), at="100000", rrn="000000000004")
    assert codec.decode(refund[13:])["39"] == "00"


# The golden 0500 and 0320 frames carry no MAC: they are the protocol page's dialect, which
# possettle's host accepts only under the less-safe ``settlement_mac = optional`` policy
# (docs/protocol.md). Under the default they are refused; their MACed counterparts (the
# vector's fields plus field 64 under the vector MAK) get the vector replies plus a MAC.


def maced_frame(name: str) -> bytes:
    """The vector request ``name`` with field 64 added, MACed with the vector MAK."""
    fields = dict(VECTORS[name]["fields"], **{"64": codec.MAC_PLACEHOLDER})
    body = codec.encode(fields)
    body = codec.with_mac(body, unionpay_ecb_mac(MAK, codec.mac_input(body)))
    head = bytes.fromhex(VECTORS[name]["tpdu"] + VECTORS[name]["header"])
    return (len(head) + len(body)).to_bytes(2, "big") + head + body


def reply_fields(got: bytes) -> dict[str, str]:
    return codec.decode(got[13:])


def assert_maced_counterpart(got: bytes, vector: str) -> None:
    """The vector reply with field 64 added, and that MAC verifies under the vector MAK."""
    fields = reply_fields(got)
    mac = fields.pop("64")
    assert fields == VECTORS[vector]["fields"]
    assert got[2:13].hex().upper() == VECTORS[vector]["tpdu"] + VECTORS[vector]["header"]
    assert verify_mac(MAK, codec.mac_input(got[13:]), bytes.fromhex(mac))


async def test_unbalanced_settlement_reply_is_the_vector_0510(vhost: VectorHost) -> None:
    """Under ``optional`` the unMACed golden 0500 gets the golden 0510, byte for byte."""
    await vhost.settlement_mac("optional")
    await ledger_of_the_0510(vhost)
    reply = await vhost.exchange(frame("settlement_request"), at="235901", rrn="000000000009")
    assert_same_frame(reply, "settlement_response_unbalanced")


async def test_the_maced_0500_gets_the_vector_0510_with_a_mac(vhost: VectorHost) -> None:
    await ledger_of_the_0510(vhost)
    request = maced_frame("settlement_request")
    reply = await vhost.exchange(request, at="235901", rrn="000000000009")
    assert_maced_counterpart(reply, "settlement_response_unbalanced")


async def test_the_golden_0500_without_a_mac_is_refused_by_default(vhost: VectorHost) -> None:
    await ledger_of_the_0510(vhost)
    reply = await vhost.exchange(frame("settlement_request"), at="235901")
    assert reply_fields(reply) == {
        "t": "0510",
        **{k: VECTORS["settlement_request"]["fields"][k] for k in ("11", "41", "42", "49", "60")},
        "39": "A0",
    }
    assert reply[2:13].hex().upper() == "6000000003" + "603103000000"  # requirement 3: sign on


@pytest.mark.parametrize("policy", ["optional", "required"])
async def test_the_vector_batch_upload_and_its_end_close_the_batch(
    vhost: VectorHost, policy: str
) -> None:
    """Under ``optional`` the golden 0320s as they are; under ``required`` their MACed
    counterparts, answered with a MAC. Either way the two records go up and the end closes."""
    await vhost.settlement_mac(policy)
    await ledger_of_the_0510(vhost)
    send = frame if policy == "optional" else maced_frame
    reply = await vhost.exchange(send("settlement_request"), at="235901", rrn="000000000009")
    assert reply_fields(reply)["39"] == "00"
    for request, at in (("batch_upload", "235902"), ("batch_upload_end", "235903")):
        got = await vhost.exchange(send(request), at=at)
        fields = reply_fields(got)
        assert ("64" in fields) is (policy == "required")
        if "64" in fields:
            assert verify_mac(MAK, codec.mac_input(got[13:]), bytes.fromhex(fields.pop("64")))
        sent = VECTORS[request]["fields"]
        want = {"t": "0330", **{k: sent[k] for k in ("11", "41", "42", "60")}, "39": "00"}
        want.update({"12": at, "13": "1126", "15": "1126", "32": "00010000"})
        if request == "batch_upload_end":
            want["48"] = "0002"
        assert fields == want
    status = await vhost.db.lookup(lambda c: get_batch(c, TID, 1))
    assert status is not None and status.status is BatchStatus.CLOSED
    assert status.uploaded_records == 2


@pytest.mark.parametrize("request_name", ["batch_upload", "batch_upload_end"])
async def test_the_golden_0320_without_a_mac_is_refused_by_default(
    vhost: VectorHost, request_name: str
) -> None:
    await ledger_of_the_0510(vhost)
    reply = await vhost.exchange(maced_frame("settlement_request"), at="235901", rrn="000000000009")
    assert reply_fields(reply)["39"] == "00"
    got = reply_fields(await vhost.exchange(frame(request_name), at="235902"))
    assert (got["t"], got["39"], "64" in got) == ("0330", "A0", False)
    status = await vhost.db.lookup(lambda c: get_batch(c, TID, 1))
    assert status is not None and status.status is BatchStatus.SETTLING
    assert status.uploaded_records == 0

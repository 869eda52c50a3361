"""A settlement carries the terminal's MAC, and the terminal treats settlement MACs as it treats
a sale's (docs/protocol.md, "Settlement and batch upload are MACed").

The issue this answers: TID and MID are printed on every receipt, and a 0500 plus an upload end
used to need nothing else, so anyone could close a terminal's open batch. Everything here runs
on real sockets: the terminal core against a running host, a stranger on a plain connection,
and a relay that can spoil one MAC on the way.
"""

from __future__ import annotations

from pathlib import Path

from possettle.crypto.keys import Key
from possettle.iso8583.fields import HalfTotals, SettlementTotals
from possettle.link import requests as m
from possettle.link.client import Link
from tests.host.harness import MID, TID, TMK, register
from tests.terminal.faults import forget_at_host, host_view
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, make_terminal, open_pos
from tests.terminal.relay import first, mac_relay
from tests.terminal.scenario import batch_row, host_on_day, live_totals

NOBODYS_TMK = Key.from_hex("00112233445566778899AABBCCDDEEFF")
NOTHING = SettlementTotals(HalfTotals(0, 0, 0, 0), HalfTotals(0, 0, 0, 0))


async def test_frames_replayed_from_a_receipt_cannot_close_a_batch_with_three_real_sales(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with host_on_day(db_url, key_file) as host:
        pos = open_pos(make_terminal(tmp_path / "t", host.port))
        try:
            await pos.sign_on()
            sales = [await pos.sale(CUP_PAN, cents, expiry="3012") for cents in (1200, 3400, 5600)]
            assert all(s.approved for s in sales)
            batch = sales[0].batch

            # Someone with a receipt (TID, MID, batch) and no key sends the settlement and the
            # upload end that would close the batch: the 0500 claims nothing, so the host
            # answers "unbalanced" and the upload end of zero records closes it.
            stranger = Link("127.0.0.1", host.port, TID, MID, NOBODYS_TMK, timeout=10.0)
            try:
                settle = await stranger.send(m.settlement(TID, MID, 990001, batch, NOTHING))
                end = await stranger.send(m.upload_end(TID, MID, 990002, batch, 0, balanced=False))
            finally:
                await stranger.close()
            assert (settle.code, end.code) == ("A0", "A0")
            assert batch_row(db_url, TID, batch)["status"] == "open"
            assert live_totals(db_url, TID, batch) == (10200, 3, 0, 0)

            # The terminal itself then settles its three sales as if nothing had happened.
            report = await pos.settle()
        finally:
            await pos.close()
    assert report.ok, report.as_dict()
    assert report.result == "balanced"
    host_batch = batch_row(db_url, TID, batch)
    assert host_batch["status"] == "closed"
    assert host_batch["host_totals"][:15] == "000000010200003"
    view = host_view(db_url, [tmp_path / "t"])
    assert view.lost == [] and view.duplicated == []


async def test_every_settlement_message_of_an_unbalanced_batch_is_maced_both_ways(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host, mac_relay(host.port) as relay:
        pos = open_pos(make_terminal(tmp_path / "t", relay.port))
        try:
            await pos.sign_on()
            sales = [await pos.sale(p, 1500, expiry="3012") for p in (CUP_PAN, CUP_PAN_2)]
            forget_at_host(sqlite_url, TID, sales[1].stan)
            report = await pos.settle()
        finally:
            await pos.close()
    assert report.ok and report.result == "balanced_after_upload", report.as_dict()
    settlement = [s for s in relay.seen if s.mti in ("0500", "0510", "0320", "0330")]
    assert [(s.mti, s.net, s.code) for s in settlement] == [
        ("0500", "201", ""),
        ("0510", "201", "00"),
        ("0320", "201", ""),
        ("0330", "201", "00"),
        ("0320", "202", ""),
        ("0330", "202", "00"),
    ]
    assert all(s.maced for s in settlement)


async def test_a_settlement_refused_with_a0_signs_on_again_and_settles(
    tmp_path: Path, sqlite_url: str
) -> None:
    """The host holds other working keys than the terminal (another sign-on of the same TID
    replaced them): the 0500 gets A0, as a sale would, and the terminal signs on and retries."""
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host, mac_relay(host.port) as relay:
        pos = open_pos(make_terminal(tmp_path / "t", relay.port))
        try:
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 4200, expiry="3012")).approved
            other = Link("127.0.0.1", host.port, TID, MID, TMK, timeout=10.0)
            try:
                assert (await other.sign_on()).code == "00"  # new keys at the host
            finally:
                await other.close()
            report = await pos.settle()
        finally:
            await pos.close()
    assert report.ok and report.result == "balanced", report.as_dict()
    assert relay.trail(up=False) == [
        ("0810", "00"),
        ("0210", "00"),
        ("0510", "A0"),
        ("0810", "00"),
        ("0510", "00"),
        ("0330", "00"),
    ]


async def test_a_batch_upload_refused_with_a0_signs_on_again_and_repeats_that_chunk(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    spoil = first("0320", up=True, net="201")  # the first upload's MAC is spoiled on the way
    async with host_on_day(sqlite_url, key_file) as host, mac_relay(host.port, spoil) as relay:
        pos = open_pos(make_terminal(tmp_path / "t", relay.port))
        try:
            await pos.sign_on()
            sales = [await pos.sale(p, 1500, expiry="3012") for p in (CUP_PAN, CUP_PAN_2)]
            forget_at_host(sqlite_url, TID, sales[1].stan)
            report = await pos.settle()
        finally:
            await pos.close()
    assert report.ok and report.result == "balanced_after_upload", report.as_dict()
    assert report.uploaded == 2
    uploads = [s for s in relay.seen if s.mti == "0320" and s.net == "201"]
    assert [u.spoiled for u in uploads] == [True, False]
    assert uploads[0].stan == uploads[1].stan  # the same chunk, as recorded before it left
    assert ("0330", "A0") in relay.trail(up=False)
    assert relay.trail(up=False)[-1] == ("0330", "00")
    view = host_view(sqlite_url, [tmp_path / "t"])
    assert view.lost == [] and view.duplicated == []


async def test_a_0510_whose_mac_does_not_verify_is_not_trusted(
    tmp_path: Path, sqlite_url: str
) -> None:
    """As with a 0210: a reply the terminal cannot check is not acted on. It signs on again
    and repeats the 0500 with the same STAN; the host answers the repeat with its stored reply,
    MACed with the new key, and the settlement goes on."""
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    spoil = first("0510", up=False)
    async with host_on_day(sqlite_url, key_file) as host, mac_relay(host.port, spoil) as relay:
        pos = open_pos(make_terminal(tmp_path / "t", relay.port))
        try:
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 4200, expiry="3012")).approved
            report = await pos.settle()
        finally:
            await pos.close()
    assert report.ok and report.result == "balanced", report.as_dict()
    settles = [s for s in relay.seen if s.mti == "0500"]
    assert len(settles) == 2 and settles[0].stan == settles[1].stan
    replies = [s for s in relay.seen if s.mti in ("0510", "0810")]
    assert [(s.mti, s.code, s.spoiled) for s in replies][-3:] == [
        ("0510", "00", True),
        ("0810", "00", False),
        ("0510", "00", False),
    ]

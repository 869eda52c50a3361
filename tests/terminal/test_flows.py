"""The terminal core against a real host over TCP: every money path ends in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from possettle.clock import SystemClock
from possettle.terminal.journal.events import EventKind
from possettle.terminal.pos import Pos
from tests.host.harness import register, running_host
from tests.terminal.harness import CUP_PAN, VISA_PAN, make_terminal, open_pos


async def test_sale_void_refund_and_balanced_settlement(tmp_path: Path, db_url: str) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with running_host(db_url, key_file) as host:
        pos = open_pos(make_terminal(tmp_path / "t", host.port))
        try:
            signon = await pos.sign_on()
            assert signon.code == "00"
            a = await pos.sale(CUP_PAN, 1234, expiry="3012", pin="123456")
            b = await pos.sale(VISA_PAN, 5000, expiry="3012")
            c = await pos.sale(CUP_PAN, 700, expiry="3012")
            assert a.approved and b.approved and c.approved
            void = await pos.void(c.stan)
            assert void.approved
            refund = await pos.refund(200, orig_batch=a.batch, orig_stan=a.stan)
            assert refund.approved
            status = pos.status()
            assert status["totals"]["domestic"] == {
                "debit_amount": 1234,
                "debit_count": 1,
                "credit_amount": 200,
                "credit_count": 1,
            }
            report = await pos.settle()
            assert report.ok, report.as_dict()
            assert report.result == "balanced"
            assert report.uploaded == 0
            assert pos.status()["batch"] == signon.batch + 1
        finally:
            await pos.close()


async def test_sign_off_drops_the_keys_and_the_next_sale_signs_on_again(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        pos = open_pos(make_terminal(tmp_path / "t", host.port))
        try:
            await pos.sign_on()
            await pos.terminal.sign_off()
            status = pos.status()
            assert status["signed_on"] is False
            assert status["key_check_values"]["pik"] is None  # type: ignore[index]
            sale = await pos.sale(CUP_PAN, 1500, expiry="3012")
            assert sale.approved
            assert pos.status()["signed_on"] is True
            kinds = [e.kind for e in pos.journal.events()]  # newest first
            assert kinds.index(EventKind.SIGNED_ON) < kinds.index(EventKind.SIGNED_OFF)
        finally:
            await pos.close()


async def test_a_skewed_device_clock_is_corrected_by_the_sign_on(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port, clock_skew_seconds=-7200.0)
        pos = Pos.open(term, clock=SystemClock())
        try:
            signon = await pos.sign_on()
            assert abs(signon.clock_offset - 7200) < 5  # the host's time wins
            drift = pos.terminal.clock.now() - datetime.now(UTC)
            assert abs(drift.total_seconds()) < 5
        finally:
            await pos.close()

"""The printer runs out of paper: the money is settled anyway, the paper waits for a reprint.

A settlement that reached the host is never undone by the printer (causes.md
``printer.paper_out``): the batch is closed on both sides, the slip stays queued and prints
when paper is back. Receipts and slips never show more of a card than its last 4 digits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from possettle.clock import FixedClock
from possettle.terminal.errors import Refused
from possettle.terminal.journal.events import EventKind
from possettle.terminal.printer.simulated import OUTPUT_FILE, TEXT_FILE, PrinterState, set_state
from possettle.terminal.printer.status import PrinterCode
from tests.host.harness import TID, register
from tests.terminal.faults import host_view
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN, make_terminal, open_pos
from tests.terminal.scenario import batch_row, host_on_day, point_at

PANS = (CUP_PAN, CUP_PAN_2, VISA_PAN)


def assert_no_card_number(data: str | bytes, pans: tuple[str, ...]) -> None:
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    digits = re.sub(r"[^0-9*]", "", text)  # card numbers split by spaces or markup
    for pan in pans:
        assert pan not in text and pan[:6] not in text, f"{pan[:6]}… printed"
        assert pan[:-4] not in digits
        # the masked form a screen shows (first 6, last 4) is too much for paper
        assert re.search(re.escape(pan[:6]) + r"\*+" + pan[-4:], text) is None


async def test_paper_out_during_settlement_closes_the_batch_and_queues_the_slip(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            sales = [await pos.sale(pan, 1000 + i, expiry="3012") for i, pan in enumerate(PANS)]
            assert all(s.approved for s in sales)
            assert pos.status()["print_queue"] == 0  # three receipts printed
            receipts = (term / TEXT_FILE).read_text(encoding="utf-8")
            for pan in PANS:
                assert f"**** {pan[-4:]}" in receipts

            set_state(term, PrinterState.PAPER_OUT)
            void = await pos.void(sales[0].stan)  # a receipt that cannot print either
            assert void.approved
            report = await pos.settle()
            assert report.ok and report.result == "balanced", report.as_dict()
            assert report.printed is False
            assert report.notes and "reprint" in report.notes[0]
            status = pos.status()
            assert status["batch"] == report.batch + 1
            assert status["transactions"] == 0
            assert status["print_queue"] == 2  # the void's receipt, then the slip
            assert status["last_settlement"] == {
                "batch": report.batch,
                "step": "done",
                "result": "balanced",
            }
            printed = pos.journal.events(EventKind.PRINT_FAILED)
            assert {e.code for e in printed} == {PrinterCode.PAPER_OUT}
            assert pos.reprint() == 2  # still no paper: nothing lost, nothing printed
            assert "SETTLEMENT" not in (term / TEXT_FILE).read_text(encoding="utf-8")

            set_state(term, PrinterState.OK)
            assert pos.reprint() == 0
            assert pos.status()["print_queue"] == 0
            assert pos.reprint() == 0  # printed once, not again
        finally:
            await pos.close()

    assert batch_row(sqlite_url, TID, report.batch)["status"] == "closed"
    text = (term / TEXT_FILE).read_text(encoding="utf-8")
    assert text.count("SETTLEMENT 结算单") == 1
    slip = text[text.index("SETTLEMENT 结算单") :]
    assert "REPRINT 重打印" in slip
    assert re.search(rf"BATCH NO\. 批次号 +{report.batch:06d}", slip)
    assert "BALANCED" in slip
    assert text.count(f"{void.stan:06d}") >= 1
    assert_no_card_number(text, PANS)
    assert_no_card_number((term / OUTPUT_FILE).read_bytes(), PANS)
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []


async def test_receipts_and_slips_show_the_shops_local_time(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)  # policy timezone: +08:00 (Beijing)
        pos = open_pos(term)  # 2026-11-26 02:00 UTC is 10:00 in the shop
        try:
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 100, expiry="3012")).approved
            assert (await pos.settle()).ok
        finally:
            await pos.close()
    text = (term / TEXT_FILE).read_text(encoding="utf-8")
    assert text.count("2026/11/26 10:00:00") == 2  # the receipt and the slip
    assert "02:00:00" not in text


async def test_a_slip_settled_after_closing_time_can_be_reprinted_after_closing_time(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    evening = datetime(2026, 11, 26, 14, 30, tzinfo=UTC)  # 22:30 in the shop, closed at 22:00
    policy = {
        "business_hours": {"open": "08:00", "close": "22:00"},
        "settlement_window": {"start": "06:00", "end": "23:30"},
    }
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port, policy=policy)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 100, expiry="3012")).approved
        finally:
            await pos.close()
    async with host_on_day(sqlite_url, key_file, day=evening) as host:
        point_at(term, host.port)
        pos = open_pos(term, FixedClock(evening))
        try:
            with pytest.raises(Refused) as info:
                await pos.sale(CUP_PAN, 100, expiry="3012")
            assert info.value.code == "hours.closed"  # the shop is closed for sales …
            set_state(term, PrinterState.PAPER_OUT)
            report = await pos.settle()  # … but settles after closing, as it should
            assert report.ok and not report.printed, report.as_dict()
            set_state(term, PrinterState.OK)
            assert pos.reprint() == 0  # and gets its slip the same evening
        finally:
            await pos.close()
    assert "SETTLEMENT 结算单" in (term / TEXT_FILE).read_text(encoding="utf-8")
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []

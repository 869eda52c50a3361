"""The doctor names hardware causes (硬件): printer, reader, link, storage.

Each test injects the real fault (the simulated printer's and reader's condition, which the
doctor never reads: it asks the devices through the terminal's drivers, and reads the codes the
terminal journaled when its own print or card read failed; a link whose packets go nowhere, a
journal at its size limit, a journal with broken pages), runs the settlement or the operation
as a merchant would, then asks the doctor.

Not covered, because nothing here can detect it: ``device.overheat`` (the terminal has no
temperature probe, so no signal reaches the doctor; it stays in the catalog for devices
that report one).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from possettle.terminal.errors import JournalCorrupt, Refused, StorageFull
from possettle.terminal.printer.simulated import PrinterState, set_state
from possettle.terminal.reader import ReaderState
from possettle.terminal.reader import set_state as set_reader
from tests.doctor.harness import doctor, make_terminal, open_pos, settle, trade
from tests.doctor.scenes import FAST, blackhole, corrupt, evidence, expect_top, set_timeout
from tests.host.harness import register, running_host
from tests.terminal.harness import CUP_PAN
from tests.terminal.scenario import point_at


@pytest.mark.parametrize(
    ("state", "cause", "code"),
    [
        (PrinterState.PAPER_OUT, "printer.paper_out", "paper_out"),
        (PrinterState.OFFLINE, "printer.fault", "offline"),
        (PrinterState.COVER_OPEN, "printer.fault", "cover_open"),
        (PrinterState.CUTTER_JAM, "printer.fault", "cutter_jam"),
        (PrinterState.OVERHEAT, "printer.fault", "overheat"),
    ],
)
async def test_a_slip_that_cannot_print_is_the_printer_and_reprints_once_it_is_back(
    tmp_path: Path, sqlite_url: str, state: PrinterState, cause: str, code: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        set_state(term, state)
        result = await settle(term)
        assert result["ok"] is True and result["printed"] is False  # the money went through

        report = await doctor(term, sqlite_url)
        top = expect_top(report, cause, "hardware", "print")
        ev = evidence(top)
        # what the printer answers to its status query now, and the code the terminal's own
        # print attempt failed with
        assert ev["printer.state"] == [code]
        assert ev["print_failed"] == [code]
        assert report.as_dict()["ok"] is False

        # Still no paper: the safe recovery (reprint) runs and says it did not work.
        report = await doctor(term, sqlite_url, fix=True)
        assert report.diagnoses[0].recovery is not None
        assert report.diagnoses[0].recovery["result"] == "failed"

        set_state(term, PrinterState.OK)  # paper loaded / printer reconnected
        report = await doctor(term, sqlite_url, fix=True)
        assert report.diagnoses[0].cause.id == cause
        assert report.diagnoses[0].recovery == {
            "action": "queue_reprint",
            "result": "ok",
            "detail": "queued slips printed",
        }
        assert "REPRINT" in (term / "printer.txt").read_text(encoding="utf-8").upper()

        after = await doctor(term, sqlite_url)
    assert after.diagnoses == [], after.as_dict()
    assert after.ok


@pytest.mark.parametrize("state", [ReaderState.FAULT, ReaderState.OFFLINE])
async def test_a_card_reader_fault_is_the_reader_and_has_no_automatic_recovery(
    tmp_path: Path, sqlite_url: str, state: ReaderState
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term, sales=2)
        set_reader(term, state)
        pos = open_pos(term)
        try:
            with pytest.raises(Refused) as info:
                await pos.sale(CUP_PAN, 500, expiry="3012")
            assert info.value.code == f"reader.{state.value}"
        finally:
            await pos.close()

        report = await doctor(term, sqlite_url, fix=True)
    top = expect_top(report, "reader.fault", "hardware")
    ev = evidence(top)
    # what the reader answers when asked now, and the refusal the terminal journaled
    assert ev["reader.state"] == [state.value]
    assert ev["refused"] == [f"reader.{state.value}"]
    assert top.recovery is None  # it blocks payments, not the settlement: nothing to run
    checks = {c["area"]: c["status"] for c in report.as_dict()["checks"]}
    assert checks["reader"] == "fail"
    assert report.ok is False


async def test_a_link_that_drops_every_packet_is_the_link_and_the_settlement_resumes_after(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        with blackhole() as dead:
            point_at(term, dead)  # the cable is out: connects go unanswered
            set_timeout(term, FAST)
            result = await settle(term)
            assert result["ok"] is False
            report = await doctor(term, sqlite_url)
            top = expect_top(report, "link.down", "hardware", "settle")
            ev = evidence(top)
            assert ev["link.connect"] == ["timeout"]
            assert ev["settle_failed"][0] == {
                "step": "settle",
                "code": "",
                "link_failure": "timeout",
            }
            assert "host.unreachable" not in [d.cause.id for d in report.diagnoses[:1]]
        point_at(term, host.port)  # plugged in again
        set_timeout(term)
        report = await doctor(term, sqlite_url, fix=True)
        assert report.diagnoses[0].cause.id == "link.down"
        assert report.diagnoses[0].recovery is not None
        assert report.diagnoses[0].recovery["result"] == "ok", report.diagnoses[0].recovery
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()


async def test_a_journal_at_its_size_limit_is_storage_full(tmp_path: Path, sqlite_url: str) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port, max_journal_bytes=160 * 1024)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            with pytest.raises(StorageFull):
                for i in range(500):
                    await pos.sale(CUP_PAN, 100 + i, expiry="3012")
        finally:
            await pos.close()
        with pytest.raises(StorageFull):
            await settle(term)
        report = await doctor(term, sqlite_url)
    top = expect_top(report, "storage.full", "hardware")
    ev = evidence(top)
    assert ev["journal.fill"][0] >= 0.95  # type: ignore[operator]
    assert top.recovery is None
    checks = {c["area"]: c["status"] for c in report.as_dict()["checks"]}
    assert checks["storage"] == "fail"


async def test_a_journal_with_broken_pages_is_storage_corrupt(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        corrupt(term)
        with pytest.raises(JournalCorrupt):
            await settle(term)  # nothing is settled from bad data
        report = await doctor(term, sqlite_url, fix=True)
    top = expect_top(report, "storage.corrupt", "hardware")
    ev = evidence(top)
    assert "journal.integrity" in ev
    assert top.recovery is None  # never settle from bad data
    assert report.ok is False

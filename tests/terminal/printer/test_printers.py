"""Printers: a printer that cannot print raises with its stable code and prints nothing; back
to ok, the job prints. The simulated printer is a device: the driver asks it (DLE EOT n) and
sends it jobs as it does a network printer."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from escpos.exceptions import DeviceNotFoundError  # type: ignore[import-untyped]

from possettle.errors import ConfigError
from possettle.terminal.errors import PaperOut, PrinterError, PrinterOffline
from possettle.terminal.printer import device
from possettle.terminal.printer.device import (
    EscposPrinter,
    PrinterCode,
    PrinterState,
    SimulatedDevice,
    open_printer,
    read_state,
    set_state,
)
from possettle.terminal.printer.escpos_job import escpos_job
from possettle.terminal.printer.layout import PaperWidth, render_text
from possettle.terminal.printer.simulated import OUTPUT_FILE, STATE_FILE, TEXT_FILE, paper

from .fake_net import FakeNetworkPrinter, net_printer_factory
from .samples import receipt, slip

__all__ = ["net_printer_factory"]  # the fixture

FULL_CUT = b"\x1dV\x00"  # GS V 0


# --- the simulated printer -------------------------------------------------------------


def test_a_new_simulated_printer_is_ready_and_appends_each_job(tmp_path: Path) -> None:
    printer = open_printer("sim", tmp_path)
    assert printer.reports_status
    assert printer.status() is None
    printer.print_document(receipt())
    printer.print_document(slip())
    assert (tmp_path / OUTPUT_FILE).read_bytes() == escpos_job(receipt()) + escpos_job(slip())
    # the paper the device made of the bytes it was sent is the layout's text, line for line
    text = (tmp_path / TEXT_FILE).read_text(encoding="utf-8")
    assert text == "".join("\n".join(render_text(d)) + "\n\n" for d in (receipt(), slip()))


@pytest.mark.parametrize("width", list(PaperWidth))
def test_the_paper_of_a_job_is_its_text_at_the_papers_width(width: PaperWidth) -> None:
    assert paper(escpos_job(slip(), width), width) == "\n".join(render_text(slip(), width)) + "\n\n"


@pytest.mark.parametrize(
    ("state", "code", "error", "words"),
    [
        (PrinterState.PAPER_OUT, PrinterCode.PAPER_OUT, PaperOut, "打印机缺纸"),
        (PrinterState.OFFLINE, PrinterCode.OFFLINE, PrinterOffline, "打印机脱机"),
        (PrinterState.COVER_OPEN, PrinterCode.COVER_OPEN, PrinterOffline, "纸仓盖未关"),
        (PrinterState.CUTTER_JAM, PrinterCode.CUTTER_JAM, PrinterError, "切刀卡纸"),
        (PrinterState.OVERHEAT, PrinterCode.OVERHEAT, PrinterError, "打印头过热"),
    ],
)
def test_a_printer_that_is_not_ok_raises_its_code_and_prints_nothing(
    tmp_path: Path, state: PrinterState, code: PrinterCode, error: type[PrinterError], words: str
) -> None:
    printer = open_printer("sim", tmp_path)
    set_state(tmp_path, state)
    assert printer.status() is code
    with pytest.raises(error, match="possettle terminal reprint") as info:
        printer.print_document(slip())
    assert info.value.code is code
    assert words in str(info.value)
    assert not (tmp_path / OUTPUT_FILE).exists()
    assert not (tmp_path / TEXT_FILE).exists()


@pytest.mark.parametrize(
    ("state", "answers"),
    [
        # DLE EOT 1, 2, 3, 4: bits 1 and 4 always on; 1 bit 3 offline; 2 bit 2 cover, bit 5
        # paper-end stop, bit 6 error; 3 bit 3 cutter, bit 6 auto-recoverable; 4 bits 5-6 end
        (PrinterState.OK, [0x12, 0x12, 0x12, 0x12]),
        (PrinterState.PAPER_OUT, [0x1A, 0x32, 0x12, 0x7E]),
        (PrinterState.COVER_OPEN, [0x1A, 0x16, 0x12, 0x12]),
        (PrinterState.CUTTER_JAM, [0x1A, 0x52, 0x1A, 0x12]),
        (PrinterState.OVERHEAT, [0x1A, 0x52, 0x52, 0x12]),
    ],
)
def test_the_simulated_printer_answers_status_queries_as_an_escpos_printer_does(
    tmp_path: Path, state: PrinterState, answers: list[int]
) -> None:
    set_state(tmp_path, state)
    device = SimulatedDevice(tmp_path)
    assert [device.query_status(b"\x10\x04" + bytes([n])) for n in (1, 2, 3, 4)] == [
        bytes([a]) for a in answers
    ]


def test_a_simulated_printer_that_is_offline_answers_nothing(tmp_path: Path) -> None:
    set_state(tmp_path, PrinterState.OFFLINE)
    with pytest.raises(DeviceNotFoundError):
        SimulatedDevice(tmp_path).open()


def test_setting_the_state_back_to_ok_prints_the_queued_slip(tmp_path: Path) -> None:
    printer = open_printer("sim", tmp_path)
    queued = slip().to_dict()
    set_state(tmp_path, PrinterState.PAPER_OUT)
    with pytest.raises(PaperOut):
        printer.print_document(slip())
    # `possettle terminal printer --state ok` runs in another process: only the file changes
    set_state(tmp_path, PrinterState.OK)
    from possettle.terminal.printer.documents import document_from_dict

    printer.print_document(document_from_dict(queued))
    assert (tmp_path / OUTPUT_FILE).read_bytes() == escpos_job(slip())


def test_set_state_writes_a_small_json_file_and_read_state_reads_it(tmp_path: Path) -> None:
    set_state(tmp_path / "new", PrinterState.OFFLINE)
    assert (tmp_path / "new" / STATE_FILE).read_text() == '{"state": "offline"}\n'
    assert read_state(tmp_path / "new") is PrinterState.OFFLINE


def test_a_damaged_state_file_is_a_config_error_and_the_printer_counts_as_offline(
    tmp_path: Path,
) -> None:
    (tmp_path / STATE_FILE).write_text('{"state": "jammed"}')
    with pytest.raises(ConfigError, match=r"printer\.json: not a printer state file"):
        read_state(tmp_path)
    printer = open_printer("sim", tmp_path)
    assert printer.status() is PrinterCode.OFFLINE
    with pytest.raises(PrinterOffline) as info:
        printer.print_document(slip())
    assert isinstance(info.value.__cause__, DeviceNotFoundError)
    assert isinstance(info.value.__cause__.__cause__, ConfigError)


# --- python-escpos printers ----------------------------------------------------------


def test_the_dummy_printer_gets_the_job_ending_in_a_cut(tmp_path: Path) -> None:
    printer = open_printer("dummy", tmp_path)
    assert isinstance(printer, EscposPrinter)
    assert not printer.reports_status
    assert printer.status() is None
    printer.print_document(receipt())
    output = printer.device.output
    assert output == escpos_job(receipt())
    assert output.endswith(FULL_CUT)
    assert output.count(FULL_CUT) == 1


def test_the_width_reaches_the_job(tmp_path: Path) -> None:
    printer = open_printer("dummy", tmp_path, width=PaperWidth.MM80)
    printer.print_document(slip())
    assert b"-" * 42 + b"\n" in printer.device.output


def test_a_file_printer_writes_the_job_to_its_device_file(tmp_path: Path) -> None:
    lp = tmp_path / "lp0"
    printer = open_printer(f"file:{lp}", tmp_path)
    try:
        printer.print_document(slip())
        printer.print_document(receipt())
    finally:
        printer.close()
    assert lp.read_bytes() == escpos_job(slip()) + escpos_job(receipt())


def test_a_file_printer_that_cannot_be_opened_is_offline(tmp_path: Path) -> None:
    printer = open_printer(f"file:{tmp_path / 'no-such-dir' / 'lp0'}", tmp_path)
    assert printer.status() is PrinterCode.OFFLINE
    with pytest.raises(PrinterOffline, match="no-such-dir") as info:
        printer.print_document(slip())
    assert info.value.__cause__ is not None
    # the device comes back: the next job reconnects instead of failing for ever
    (tmp_path / "no-such-dir").mkdir()
    printer.print_document(slip())
    printer.close()
    assert (tmp_path / "no-such-dir" / "lp0").read_bytes() == escpos_job(slip())


def test_a_network_printer_with_paper_prints_each_job_on_its_own_connection(
    tmp_path: Path, net_printer_factory: list[FakeNetworkPrinter]
) -> None:
    fake = FakeNetworkPrinter(FakeNetworkPrinter.PAPER_OK, connections=3)
    net_printer_factory.append(fake)
    printer = open_printer(f"net:127.0.0.1:{fake.port}", tmp_path)
    assert printer.status() is None
    printer.print_document(slip())
    printer.print_document(receipt())
    fake.join()
    assert fake.jobs == [b"", escpos_job(slip()), escpos_job(receipt())]


def test_a_network_printer_out_of_paper_raises_paper_out_and_gets_no_job(
    tmp_path: Path, net_printer_factory: list[FakeNetworkPrinter]
) -> None:
    fake = FakeNetworkPrinter(FakeNetworkPrinter.PAPER_END)
    net_printer_factory.append(fake)
    printer = open_printer(f"net:127.0.0.1:{fake.port}", tmp_path)
    with pytest.raises(PaperOut, match="打印机缺纸") as info:
        printer.print_document(slip())
    assert info.value.code is PrinterCode.PAPER_OUT
    fake.join()
    assert fake.jobs == [b""]


def test_a_network_printer_reporting_offline_raises_and_gets_no_job(
    tmp_path: Path, net_printer_factory: list[FakeNetworkPrinter]
) -> None:
    fake = FakeNetworkPrinter(FakeNetworkPrinter.PAPER_OK, online=FakeNetworkPrinter.OFFLINE)
    net_printer_factory.append(fake)
    printer = open_printer(f"net:127.0.0.1:{fake.port}", tmp_path)
    with pytest.raises(PrinterOffline, match="it reports offline") as info:
        printer.print_document(slip())
    assert info.value.code is PrinterCode.OFFLINE
    fake.join()
    assert fake.jobs == [b""]


@pytest.mark.parametrize(
    ("offline_cause", "error_cause", "code"),
    [
        (b"\x16", b"\x12", PrinterCode.COVER_OPEN),  # DLE EOT 2 bit 2
        (b"\x32", b"\x12", PrinterCode.PAPER_OUT),  # DLE EOT 2 bit 5: stopped at paper end
        (b"\x52", b"\x1a", PrinterCode.CUTTER_JAM),  # 2 bit 6 error, 3 bit 3 autocutter
        (b"\x52", b"\x52", PrinterCode.OVERHEAT),  # 3 bit 6 auto-recoverable (head hot)
        (b"\x52", b"\x32", PrinterCode.FAULT),  # 3 bit 5 unrecoverable
    ],
)
def test_a_network_printer_offline_for_a_reason_names_it(
    tmp_path: Path,
    net_printer_factory: list[FakeNetworkPrinter],
    offline_cause: bytes,
    error_cause: bytes,
    code: PrinterCode,
) -> None:
    fake = FakeNetworkPrinter(
        FakeNetworkPrinter.PAPER_OK,
        online=FakeNetworkPrinter.OFFLINE,
        offline_cause=offline_cause,
        error_cause=error_cause,
    )
    net_printer_factory.append(fake)
    printer = open_printer(f"net:127.0.0.1:{fake.port}", tmp_path)
    assert printer.status() is code
    fake.join()
    assert fake.jobs == [b""]


def test_a_network_printer_that_refuses_the_connection_is_offline(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    printer = open_printer(f"net:127.0.0.1:{port}", tmp_path)
    with pytest.raises(PrinterOffline, match=f"net:127.0.0.1:{port} is offline"):
        printer.print_document(slip())
    assert printer.status() is PrinterCode.OFFLINE


# --- specs ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["", "sim"])
def test_sim_is_the_default_printer(tmp_path: Path, spec: str) -> None:
    printer = open_printer(spec, tmp_path)
    assert isinstance(printer, EscposPrinter)
    assert isinstance(printer.device, SimulatedDevice)
    assert printer.device.directory == tmp_path


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("lp0", r"printer spec 'lp0' is not one of sim, dummy, file:PATH or net:HOST:PORT"),
        ("file:", r"printer spec 'file:' is not one of"),
        ("usb:1234", r"printer spec 'usb:1234' is not one of"),
        ("net:printer", r"printer spec 'net:printer': expected net:HOST:PORT"),
        ("net:printer:99999", r"port 1\.\.65535"),
        ("net::9100", r"printer spec 'net::9100': expected net:HOST:PORT"),
    ],
)
def test_a_bad_spec_is_a_config_error_naming_it(tmp_path: Path, spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_printer(spec, tmp_path)


def test_public_names_of_the_device_module_are_pinned() -> None:
    assert sorted(device.__all__) == [
        "EscposPrinter",
        "Printer",
        "PrinterCode",
        "PrinterState",
        "SPECS_HELP",
        "SimulatedDevice",
        "open_printer",
        "printer_error",
        "read_state",
        "set_state",
    ]

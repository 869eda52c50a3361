"""Printers: paper out and offline raise and print nothing; back to ok, the job prints."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from possettle.errors import ConfigError
from possettle.terminal.errors import PaperOut, PrinterError, PrinterOffline
from possettle.terminal.printer import device
from possettle.terminal.printer.device import (
    EscposPrinter,
    PrinterState,
    SimulatedPrinter,
    open_printer,
    read_state,
    set_state,
)
from possettle.terminal.printer.escpos_job import escpos_job
from possettle.terminal.printer.layout import PaperWidth, render_text
from possettle.terminal.printer.simulated import OUTPUT_FILE, STATE_FILE, TEXT_FILE

from .samples import receipt, slip

FULL_CUT = b"\x1dV\x00"  # GS V 0


# --- the simulated printer -------------------------------------------------------------


def test_a_new_simulated_printer_is_ok_and_appends_each_job(tmp_path: Path) -> None:
    printer = SimulatedPrinter(tmp_path)
    assert printer.status() is PrinterState.OK
    printer.print_document(receipt())
    printer.print_document(slip())
    assert (tmp_path / OUTPUT_FILE).read_bytes() == escpos_job(receipt()) + escpos_job(slip())
    assert printer.last_job == escpos_job(slip())
    assert printer.last_text == "\n".join(render_text(slip())) + "\n"
    assert "SETTLEMENT 结算单" in (tmp_path / TEXT_FILE).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("state", "error", "words"),
    [
        (PrinterState.PAPER_OUT, PaperOut, "打印机缺纸"),
        (PrinterState.OFFLINE, PrinterOffline, "打印机脱机"),
    ],
)
def test_a_printer_that_is_not_ok_raises_and_prints_nothing(
    tmp_path: Path, state: PrinterState, error: type[PrinterError], words: str
) -> None:
    printer = SimulatedPrinter(tmp_path)
    set_state(tmp_path, state)
    assert printer.status() is state
    with pytest.raises(error, match="possettle terminal reprint") as info:
        printer.print_document(slip())
    assert words in str(info.value)
    assert not (tmp_path / OUTPUT_FILE).exists()
    assert printer.last_job is None
    assert printer.last_text is None


def test_setting_the_state_back_to_ok_prints_the_queued_slip(tmp_path: Path) -> None:
    printer = SimulatedPrinter(tmp_path)
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
    printer = SimulatedPrinter(tmp_path)
    assert printer.status() is PrinterState.OFFLINE
    with pytest.raises(PrinterOffline) as info:
        printer.print_document(slip())
    assert isinstance(info.value.__cause__, ConfigError)


# --- python-escpos printers ----------------------------------------------------------


def test_the_dummy_printer_gets_the_job_ending_in_a_cut(tmp_path: Path) -> None:
    printer = open_printer("dummy", tmp_path)
    assert isinstance(printer, EscposPrinter)
    assert printer.status() is PrinterState.OK
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
    assert printer.status() is PrinterState.OFFLINE
    with pytest.raises(PrinterOffline, match="no-such-dir") as info:
        printer.print_document(slip())
    assert info.value.__cause__ is not None
    # the device comes back: the next job reconnects instead of failing for ever
    (tmp_path / "no-such-dir").mkdir()
    printer.print_document(slip())
    printer.close()
    assert (tmp_path / "no-such-dir" / "lp0").read_bytes() == escpos_job(slip())


class FakeNetworkPrinter:
    """A TCP printer on 127.0.0.1 that answers DLE EOT status queries and keeps the rest."""

    ONLINE = b"\x12"  # bit 3 clear: online
    OFFLINE = b"\x1a"  # bit 3 set: offline (cover open, error)
    PAPER_OK = b"\x12"
    PAPER_END = b"\x72"  # bits 5 and 6: paper end

    def __init__(self, paper: bytes, connections: int = 1, online: bytes = ONLINE) -> None:
        self.paper = paper
        self.online = online
        self.jobs: list[bytes] = []  # what each connection sent, status queries left out
        self._connections = connections
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve)
        self._thread.start()

    def _serve(self) -> None:
        with self._server:
            self._server.settimeout(10)
            for _ in range(self._connections):
                conn, _ = self._server.accept()
                received = bytearray()
                with conn:
                    conn.settimeout(10)
                    while data := conn.recv(65536):
                        if data == b"\x10\x04\x01":
                            conn.sendall(self.online)
                        elif data == b"\x10\x04\x04":
                            conn.sendall(self.paper)
                        else:
                            received += data
                self.jobs.append(bytes(received))

    def join(self) -> None:
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()


@pytest.fixture
def net_printer_factory() -> Iterator[list[FakeNetworkPrinter]]:
    started: list[FakeNetworkPrinter] = []
    yield started
    for fake in started:
        fake.join()


def test_a_network_printer_with_paper_prints_each_job_on_its_own_connection(
    tmp_path: Path, net_printer_factory: list[FakeNetworkPrinter]
) -> None:
    fake = FakeNetworkPrinter(FakeNetworkPrinter.PAPER_OK, connections=3)
    net_printer_factory.append(fake)
    printer = open_printer(f"net:127.0.0.1:{fake.port}", tmp_path)
    assert printer.status() is PrinterState.OK
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
    with pytest.raises(PaperOut, match="打印机缺纸"):
        printer.print_document(slip())
    fake.join()
    assert fake.jobs == [b""]


def test_a_network_printer_reporting_offline_raises_and_gets_no_job(
    tmp_path: Path, net_printer_factory: list[FakeNetworkPrinter]
) -> None:
    fake = FakeNetworkPrinter(FakeNetworkPrinter.PAPER_OK, online=FakeNetworkPrinter.OFFLINE)
    net_printer_factory.append(fake)
    printer = open_printer(f"net:127.0.0.1:{fake.port}", tmp_path)
    with pytest.raises(PrinterOffline, match="it reports offline"):
        printer.print_document(slip())
    fake.join()
    assert fake.jobs == [b""]


def test_a_network_printer_that_refuses_the_connection_is_offline(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    printer = open_printer(f"net:127.0.0.1:{port}", tmp_path)
    with pytest.raises(PrinterOffline, match=f"net:127.0.0.1:{port} is offline"):
        printer.print_document(slip())
    assert printer.status() is PrinterState.OFFLINE


# --- specs ----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["", "sim"])
def test_sim_is_the_default_printer(tmp_path: Path, spec: str) -> None:
    printer = open_printer(spec, tmp_path)
    assert isinstance(printer, SimulatedPrinter)
    assert printer.directory == tmp_path


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
        "PrinterState",
        "SPECS_HELP",
        "SimulatedPrinter",
        "open_printer",
        "read_state",
        "set_state",
    ]

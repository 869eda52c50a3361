"""Printers: what the terminal core needs from one, python-escpos printers, and the factory.

The core sees only :class:`Printer`: ``status()`` and ``print_document()``, which raises a
:class:`~possettle.terminal.errors.PrinterError` carrying a stable
:class:`~possettle.terminal.printer.status.PrinterCode` when nothing could be printed.
Printing comes after the batch is closed: a failure is the core's cue to queue the slip in
the journal for ``possettle terminal reprint``, never a reason to undo the settlement.

python-escpos errors are translated in one place, :meth:`EscposPrinter._translate`::

    escpos DeviceNotFoundError, OSError while connecting, a timeout  → PrinterOffline (offline)
    any other OSError once connected (reset, broken pipe)            → PrinterOffline (io_error)
    what the printer reports to DLE EOT n (status.py)                → PaperOut (paper_out),
                                                                        PrinterOffline (offline,
                                                                        cover_open), PrinterError
                                                                        (cutter_jam, overheat,
                                                                        fault)
    any other escpos.exceptions.Error                                → PrinterError (fault)

Printer specs for :func:`open_printer` (the terminal's ``printer`` setting)::

    sim              the simulated printer in the terminal directory (the default), a device
                     that answers status queries (simulated.py)
    dummy            python-escpos's Dummy, which keeps the bytes in memory
    file:PATH        a device file such as /dev/usb/lp0 (python-escpos opens it with "wb",
                     so a regular file is truncated each time the terminal starts)
    net:HOST:PORT    a network printer, usually port 9100

``sim`` and ``net`` printers are asked their status before each job, and answer the doctor's
status probe; ``dummy`` and ``file`` cannot be asked (``reports_status`` is false).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

from escpos.exceptions import DeviceNotFoundError  # type: ignore[import-untyped]
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy, File, Network  # type: ignore[import-untyped]

from possettle.terminal.errors import PaperOut, PrinterError, PrinterOffline
from possettle.terminal.printer.deferred import SPECS_HELP as SPECS_HELP
from possettle.terminal.printer.deferred import parse_spec
from possettle.terminal.printer.documents import Document
from possettle.terminal.printer.escpos_job import escpos_job
from possettle.terminal.printer.layout import PaperWidth
from possettle.terminal.printer.simulated import (
    PrinterState,
    SimulatedDevice,
    read_state,
    set_state,
)
from possettle.terminal.printer.status import PrinterCode, ask, describe

__all__ = [
    "SPECS_HELP",
    "EscposPrinter",
    "Printer",
    "PrinterCode",
    "PrinterState",
    "SimulatedDevice",
    "open_printer",
    "printer_error",
    "read_state",
    "set_state",
]

NET_TIMEOUT_S = 5.0  # connect, send and status reads; python-escpos's own default is 60 s


class Printer(Protocol):
    """A receipt printer as the terminal core uses it."""

    @property
    def reports_status(self) -> bool:
        """Whether :meth:`status` asks the printer (a file or dummy printer cannot say)."""
        ...

    def status(self) -> PrinterCode | None:
        """What keeps it from printing now, ``None`` when ready (or when it cannot be asked
        and opens)."""
        ...

    def print_document(self, doc: Document) -> None:
        """Print one document, or raise a PrinterError having printed nothing."""
        ...

    def close(self) -> None:
        """Release the device (a network printer holds a socket)."""
        ...


def printer_error(code: PrinterCode, name: str, why: str = "") -> PrinterError:
    """The error for ``code`` on printer ``name``: its class says what the core does with it
    (all of them queue the slip), its ``code`` what the journal keeps."""
    text = describe(code, name, why)
    if code is PrinterCode.PAPER_OUT:
        return PaperOut(text)
    if code in (PrinterCode.OFFLINE, PrinterCode.COVER_OPEN, PrinterCode.IO_ERROR):
        return PrinterOffline(text, code)
    return PrinterError(text, code)


class EscposPrinter:
    """A python-escpos printer object (``File``, ``Network``, ``Dummy``, ``Usb``, …).

    ``query_status`` asks the printer what keeps it from printing (DLE EOT 1–4,
    :func:`~possettle.terminal.printer.status.ask`) before each job; it needs a device
    python-escpos can read from (``Network``, ``Usb``, ``Serial``, the simulated one). A job
    is built in full before the device is touched and sent in one write, so a printer that
    fails at once has printed nothing; one that dies mid-job may have printed part of it,
    and the reprint is a whole copy.

    A network printer (and ``per_job`` devices) is connected for each job and released after
    it: port-9100 printers serve one client at a time, and a socket kept across a printer
    restart would be dead. Other devices stay open; any failure drops the connection so the
    next job reconnects.
    """

    def __init__(
        self,
        device: Any,
        *,
        name: str = "escpos",
        width: PaperWidth = PaperWidth.MM58,
        query_status: bool = False,
        per_job: bool | None = None,
    ) -> None:
        self._device = device  # python-escpos ships no type information
        self.name = name
        self.width = width
        self._query_status = query_status
        self._per_job = isinstance(device, Network) if per_job is None else per_job
        self._open = False

    @property
    def device(self) -> Any:
        """The python-escpos object, e.g. to read a ``Dummy``'s ``output`` in tests."""
        return self._device

    @property
    def reports_status(self) -> bool:
        return self._query_status

    def status(self) -> PrinterCode | None:
        try:
            self._ready()
        except PrinterError as exc:
            return exc.code
        finally:
            self._release()
        return None

    def print_document(self, doc: Document) -> None:
        job = escpos_job(doc, self.width)
        try:
            self._ready()
            with self._translate():
                self._device._raw(job)
        finally:
            self._release()

    def close(self) -> None:
        self._open = False
        with suppress(OSError, EscposError):
            self._device.close()

    def _ready(self) -> None:
        with self._translate(connecting=True):
            self._connect()
        if not self._query_status:
            return
        with self._translate():
            code = ask(self._device)
            if code is not None:
                raise printer_error(code, self.name, f"it reports {code.value}")

    def _release(self) -> None:
        if self._per_job:
            self.close()

    def _connect(self) -> None:
        if self._open:
            return
        if isinstance(self._device, Network):
            # python-escpos 3.1's Network.open() drops the socket of a failed connect without
            # closing it (an fd held until garbage collection, and a ResourceWarning), so
            # connect here and hand the socket over through escpos's public ``device`` setter.
            address = (self._device.host, self._device.port)
            self._device.device = socket.create_connection(address, self._device.timeout)
        else:
            # python-escpos opens a device on first use of ``.device`` and keeps it open
            self._device.device  # noqa: B018
        self._open = True

    @contextmanager
    def _translate(self, *, connecting: bool = False) -> Iterator[None]:
        """python-escpos and socket errors to a PrinterError with its code (the one place)."""
        try:
            yield
        except PrinterError:
            self._reset()  # a printer that said "offline" may come back on a new connection
            raise
        except (DeviceNotFoundError, OSError) as exc:
            self._reset()
            # No answer at all (a connect that failed, a read that timed out) is offline; a
            # printer that answered and then broke off mid-way is an I/O error.
            silent = connecting or isinstance(exc, DeviceNotFoundError | TimeoutError)
            code = PrinterCode.OFFLINE if silent else PrinterCode.IO_ERROR
            raise printer_error(code, self.name, str(exc).replace("\n", " ")) from exc
        except EscposError as exc:
            self._reset()
            raise printer_error(PrinterCode.FAULT, self.name, str(exc)) from exc

    def _reset(self) -> None:
        """Drop the connection so the next job reconnects (escpos reopens only from False)."""
        self.close()
        self._device.device = False


def open_printer(spec: str, directory: Path, *, width: PaperWidth = PaperWidth.MM58) -> Printer:
    """The printer a spec names; nothing is opened until the first status or job.

    ``directory`` is the terminal's directory, where the simulated printer keeps its state.
    """
    parsed = parse_spec(spec)
    if parsed.kind == "sim":
        device = SimulatedDevice(directory, width=width)
        return EscposPrinter(device, name="sim", width=width, query_status=True, per_job=True)
    if parsed.kind == "dummy":
        return EscposPrinter(Dummy(), name="dummy", width=width)
    if parsed.kind == "file":
        return EscposPrinter(File(parsed.target), name=spec, width=width)
    device = Network(parsed.target, parsed.port, timeout=NET_TIMEOUT_S)
    return EscposPrinter(device, name=spec, width=width, query_status=True)

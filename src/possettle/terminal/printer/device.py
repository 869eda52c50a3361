"""Printers: what the terminal core needs from one, python-escpos printers, and the factory.

The core sees only :class:`Printer`: ``status()`` and ``print_document()``, which raises
:class:`~possettle.terminal.errors.PaperOut` or :class:`~possettle.terminal.errors.PrinterOffline`
when nothing could be printed. Printing comes after the batch is closed: a failure is the
core's cue to queue the slip in the journal for ``possettle terminal reprint``, never a
reason to undo the settlement.

python-escpos errors are translated in one place, :meth:`EscposPrinter._translate`::

    escpos DeviceNotFoundError, OSError (refused, reset, timeout)  → PrinterOffline
    the printer reports paper end (DLE EOT 4, when asked)          → PaperOut
    any other escpos.exceptions.Error                              → PrinterError

Printer specs for :func:`open_printer` (the terminal's ``printer`` setting)::

    sim              the simulated printer in the terminal directory (the default)
    dummy            python-escpos's Dummy, which keeps the bytes in memory
    file:PATH        a device file such as /dev/usb/lp0 (python-escpos opens it with "wb",
                     so a regular file is truncated each time the terminal starts)
    net:HOST:PORT    a network printer, usually port 9100; paper and online status are
                     queried before each job
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

from possettle.errors import ConfigError
from possettle.terminal.errors import PaperOut, PrinterError, PrinterOffline
from possettle.terminal.printer.documents import Document
from possettle.terminal.printer.escpos_job import escpos_job
from possettle.terminal.printer.layout import PaperWidth
from possettle.terminal.printer.simulated import (
    PrinterState,
    SimulatedPrinter,
    read_state,
    set_state,
)

__all__ = [
    "SPECS_HELP",
    "EscposPrinter",
    "Printer",
    "PrinterState",
    "SimulatedPrinter",
    "open_printer",
    "read_state",
    "set_state",
]

NET_TIMEOUT_S = 5.0  # connect, send and status reads; python-escpos's own default is 60 s
_PAPER_END = 0  # Escpos.paper_status(): 2 adequate, 1 near end (still prints), 0 none

SPECS_HELP = "sim, dummy, file:PATH or net:HOST:PORT"


class Printer(Protocol):
    """A receipt printer as the terminal core uses it."""

    def status(self) -> PrinterState:
        """The state now; a printer that cannot be asked answers OK until a job fails."""
        ...

    def print_document(self, doc: Document) -> None:
        """Print one document, or raise PaperOut / PrinterOffline having printed nothing."""
        ...

    def close(self) -> None:
        """Release the device (a network printer holds a socket)."""
        ...


class EscposPrinter:
    """A python-escpos printer object (``File``, ``Network``, ``Dummy``, ``Usb``, …).

    ``query_status`` asks the printer for its online and paper state before each job; it
    needs a device python-escpos can read from (``Network``, ``Usb``, ``Serial``). A job
    is built in full before the device is touched and sent in one write, so a printer that
    fails at once has printed nothing; one that dies mid-job may have printed part of it,
    and the reprint is a whole copy.

    A network printer is connected for each job and released after it: port-9100 printers
    serve one client at a time, and a socket kept across a printer restart would be dead.
    Other devices stay open; any failure drops the connection so the next job reconnects.
    """

    def __init__(
        self,
        device: Any,
        *,
        name: str = "escpos",
        width: PaperWidth = PaperWidth.MM58,
        query_status: bool = False,
    ) -> None:
        self._device = device  # python-escpos ships no type information
        self.name = name
        self.width = width
        self._query_status = query_status
        self._per_job = isinstance(device, Network)
        self._open = False

    @property
    def device(self) -> Any:
        """The python-escpos object, e.g. to read a ``Dummy``'s ``output`` in tests."""
        return self._device

    def status(self) -> PrinterState:
        try:
            self._ready()
        except PaperOut:
            return PrinterState.PAPER_OUT
        except PrinterError:
            return PrinterState.OFFLINE
        finally:
            self._release()
        return PrinterState.OK

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
        with self._translate():
            self._connect()
            if not self._query_status:
                return
            if not self._device.is_online():
                raise PrinterOffline(_offline_text(self.name, "it reports offline"))
            if self._device.paper_status() == _PAPER_END:
                raise PaperOut(
                    f"printer {self.name} is out of paper: load paper, then run "
                    "`possettle terminal reprint` / 打印机缺纸：请装纸后重打印"
                )

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
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except PrinterError:
            self._reset()  # a printer that said "offline" may come back on a new connection
            raise
        except (DeviceNotFoundError, OSError) as exc:
            self._reset()
            raise PrinterOffline(_offline_text(self.name, str(exc).replace("\n", " "))) from exc
        except EscposError as exc:
            self._reset()
            raise PrinterError(f"printer {self.name} failed: {exc} / 打印机故障") from exc

    def _reset(self) -> None:
        """Drop the connection so the next job reconnects (escpos reopens only from False)."""
        self.close()
        self._device.device = False


def _offline_text(name: str, why: str) -> str:
    return (
        f"printer {name} is offline ({why}): check its power, cable and cover, then run "
        "`possettle terminal reprint` / 打印机脱机：请检查电源、连线和纸仓盖后重打印"
    )


def open_printer(spec: str, directory: Path, *, width: PaperWidth = PaperWidth.MM58) -> Printer:
    """The printer a spec names; nothing is opened until the first status or job.

    ``directory`` is the terminal's directory, where the simulated printer keeps its state.
    """
    kind, _, target = spec.partition(":")
    if spec in ("", "sim"):
        return SimulatedPrinter(directory, width=width)
    if spec == "dummy":
        return EscposPrinter(Dummy(), name="dummy", width=width)
    if kind == "file" and target:
        return EscposPrinter(File(target), name=spec, width=width)
    if kind == "net" and target:
        host, _, port_text = target.rpartition(":")
        host = host.strip("[]")  # net:[::1]:9100
        if host and port_text.isdigit() and 0 < int(port_text) < 65536:
            device = Network(host, int(port_text), timeout=NET_TIMEOUT_S)
            return EscposPrinter(device, name=spec, width=width, query_status=True)
        raise ConfigError(f"printer spec {spec!r}: expected net:HOST:PORT with a port 1..65535")
    raise ConfigError(f"printer spec {spec!r} is not one of {SPECS_HELP}")

"""A printer opened on first use, so work that prints nothing never loads python-escpos.

:class:`~possettle.terminal.pos.Pos` opens one for every command; ``terminal status``,
``echo`` or ``operator list`` never touch it, and python-escpos takes longer to import (its
capability database) than such a command takes to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from possettle.errors import ConfigError
from possettle.terminal.printer.layout import PaperWidth

if TYPE_CHECKING:
    from possettle.terminal.printer.device import Printer
    from possettle.terminal.printer.documents import Document
    from possettle.terminal.printer.status import PrinterCode


SPECS_HELP = "sim, dummy, file:PATH or net:HOST:PORT"


@dataclass(frozen=True)
class PrinterSpec:
    """A printer spec taken apart: ``kind`` sim, dummy, file (``target`` the path) or net
    (``target`` the host, ``port``)."""

    kind: str
    target: str = ""
    port: int = 0


def parse_spec(spec: str) -> PrinterSpec:
    """``spec`` checked and taken apart, or a ConfigError saying what is wrong with it."""
    kind, _, target = spec.partition(":")
    if spec in ("", "sim"):
        return PrinterSpec("sim")
    if spec == "dummy":
        return PrinterSpec("dummy")
    if kind == "file" and target:
        return PrinterSpec("file", target)
    if kind == "net" and target:
        host, _, port_text = target.rpartition(":")
        host = host.strip("[]")  # net:[::1]:9100
        if host and port_text.isdigit() and 0 < int(port_text) < 65536:
            return PrinterSpec("net", host, int(port_text))
        raise ConfigError(f"printer spec {spec!r}: expected net:HOST:PORT with a port 1..65535")
    raise ConfigError(f"printer spec {spec!r} is not one of {SPECS_HELP}")


class DeferredPrinter:
    """The :class:`~possettle.terminal.printer.device.Printer` ``spec`` names, opened (by
    :func:`~possettle.terminal.printer.device.open_printer`) when first asked anything."""

    def __init__(self, spec: str, directory: Path, *, width: PaperWidth = PaperWidth.MM58):
        parse_spec(spec)  # a wrong spec is refused now, not at the first slip
        self.spec, self.directory, self.width = spec, directory, width
        self._printer: Printer | None = None

    def _open(self) -> Printer:
        if self._printer is None:
            from possettle.terminal.printer.device import open_printer

            self._printer = open_printer(self.spec, self.directory, width=self.width)
        return self._printer

    @property
    def reports_status(self) -> bool:
        return self._open().reports_status

    def status(self) -> PrinterCode | None:
        return self._open().status()

    def print_document(self, doc: Document) -> None:
        self._open().print_document(doc)

    def close(self) -> None:
        if self._printer is not None:
            self._printer.close()

"""The simulated receipt printer: a device that speaks ESC/POS, kept in the terminal directory.

``DIR/printer.json`` is the mechanism's condition — what its paper sensor, cover switch,
cutter and head thermistor would report — and the emulator, the fleet simulator and the tests
change it on purpose, as opening the cover would::

    possettle terminal printer --dir DIR --state paper_out   # calls set_state()

The condition lives in a file, not in the process, so the command above changes the printer of
a terminal that is already running. Nothing else reads that file: the terminal and the doctor
see the printer only through the driver (:mod:`.device`), which asks it with ``DLE EOT n``
real-time status queries and sends it jobs, exactly as it does a network printer. So the
simulated printer answers those queries with the status bytes a real printer in that
condition sends (:mod:`.status`), does not answer at all while ``offline`` (powered off, cable
out), and takes a job only while ``ok``: it appends the ESC/POS bytes to ``printer.out`` (what
a real printer is sent) and the paper they make to ``printer.txt`` (what a person reads).
"""

from __future__ import annotations

import errno
from pathlib import Path

from escpos.escpos import Escpos  # type: ignore[import-untyped]
from escpos.exceptions import DeviceNotFoundError  # type: ignore[import-untyped]

from possettle.errors import ConfigError
from possettle.terminal.printer.condition import STATE_FILE as STATE_FILE
from possettle.terminal.printer.condition import PrinterState as PrinterState
from possettle.terminal.printer.condition import read_state as read_state
from possettle.terminal.printer.condition import set_state as set_state
from possettle.terminal.printer.escpos_job import TEXT_ENCODING
from possettle.terminal.printer.layout import PaperWidth, display_width
from possettle.terminal.printer.status import (
    AUTO_RECOVERABLE_BIT,
    AUTOCUTTER_BIT,
    COVER_OPEN_BIT,
    ERROR_BIT,
    FIXED,
    NEAR_END_BITS,
    OFFLINE_BIT,
    PAPER_END_BITS,
    PAPER_END_STOP_BIT,
    QUERIES,
)

OUTPUT_FILE = "printer.out"
TEXT_FILE = "printer.txt"


def status_byte(state: PrinterState, n: int) -> int:
    """The byte a printer in ``state`` answers to ``DLE EOT n``."""
    byte = FIXED
    stopped = state is not PrinterState.OK
    if n == 1 and stopped:
        byte |= OFFLINE_BIT
    elif n == 2:
        byte |= {
            PrinterState.COVER_OPEN: COVER_OPEN_BIT,
            PrinterState.PAPER_OUT: PAPER_END_STOP_BIT,
            PrinterState.CUTTER_JAM: ERROR_BIT,
            PrinterState.OVERHEAT: ERROR_BIT,
        }.get(state, 0)
    elif n == 3:
        byte |= {
            PrinterState.CUTTER_JAM: AUTOCUTTER_BIT,
            PrinterState.OVERHEAT: AUTO_RECOVERABLE_BIT,
        }.get(state, 0)
    elif n == 4 and state is PrinterState.PAPER_OUT:
        byte |= NEAR_END_BITS | PAPER_END_BITS
    return byte


class SimulatedDevice(Escpos):  # type: ignore[misc]
    """The simulated printer as python-escpos sees a device (``_raw``, ``_read``, ``open``)."""

    def __init__(self, directory: Path, *, width: PaperWidth = PaperWidth.MM58) -> None:
        super().__init__()
        self.directory = directory
        self.width = width
        self._answer = b""

    def _state(self) -> PrinterState:
        try:
            return read_state(self.directory)
        except ConfigError as exc:
            # a damaged condition file is a printer that does not work: it answers nothing
            raise DeviceNotFoundError(f"simulated printer in {self.directory}: {exc}") from exc

    def open(self) -> None:
        if self._state() is PrinterState.OFFLINE:
            raise DeviceNotFoundError(
                f"simulated printer in {self.directory} does not answer (offline)"
            )
        self.device = self

    def close(self) -> None:
        self._answer = b""

    def _raw(self, msg: bytes) -> None:
        state = self._state()
        if state is PrinterState.OFFLINE:
            raise OSError(errno.EIO, f"simulated printer in {self.directory} went offline")
        n = QUERIES.get(bytes(msg))
        if n is not None:
            self._answer = bytes([status_byte(state, n)])
            return
        if state is not PrinterState.OK:
            # A stopped printer would hold the job and print it later, or not: refuse it, so
            # the terminal keeps it queued and reprints it whole.
            raise OSError(errno.EBUSY, f"simulated printer in {self.directory} is {state.value}")
        with (self.directory / OUTPUT_FILE).open("ab") as out:
            out.write(msg)
        with (self.directory / TEXT_FILE).open("a", encoding="utf-8") as out:
            out.write(paper(bytes(msg), self.width))

    def _read(self) -> bytes:
        answer, self._answer = self._answer, b""
        return answer


# ESC/POS commands the terminal's jobs use, and how many bytes each takes (command included).
_COMMANDS = {
    b"\x1b@": 2,  # ESC @ initialise
    b"\x1c&": 2,  # FS & Chinese character mode on
    b"\x1c.": 2,  # FS . Chinese character mode off
    b"\x1bE": 3,  # ESC E n bold
    b"\x1ba": 3,  # ESC a n align
    b"\x1bd": 3,  # ESC d n feed n lines
    b"\x1b!": 3,  # ESC ! n print mode
    b"\x1d!": 3,  # GS ! n character size
    b"\x1b-": 3,  # ESC - n underline
    b"\x1bt": 3,  # ESC t n code page
    b"\x1bM": 3,  # ESC M n font
    b"\x1dB": 3,  # GS B n reverse
    b"\x1dV": 3,  # GS V m cut (m 65/66 take one more byte)
}
_CENTER, _RIGHT = 1, 2


def paper(job: bytes, width: PaperWidth = PaperWidth.MM58) -> str:
    """The text a job puts on paper: each line at the alignment it was sent with, ``width``
    columns wide; a cut leaves a blank line between documents."""
    out: list[str] = []
    align, i, line = 0, 0, bytearray()
    while i < len(job):
        two = job[i : i + 2]
        if two in _COMMANDS:
            size = _COMMANDS[two]
            if two == b"\x1ba":
                align = job[i + 2] % 48  # 0/1/2 or "0"/"1"/"2"
            if two == b"\x1dV" and i + 2 < len(job) and job[i + 2] in (65, 66):
                size += 1
            if two == b"\x1dV":
                out.append("\n")
            i += size
        elif job[i] == 0x0A:  # LF prints the line
            text = line.decode(TEXT_ENCODING, errors="replace")
            pad = max(0, width - display_width(text))
            left = pad // 2 if align == _CENTER else pad if align == _RIGHT else 0
            out.append(" " * left + text + " " * (pad - left) + "\n")
            line.clear()
            i += 1
        else:
            line.append(job[i])
            i += 1
    return "".join(out)

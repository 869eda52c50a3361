"""The simulated printer: its state in ``DIR/printer.json``, its paper in ``DIR/printer.out``.

The emulator, the fleet simulator and the tests use it to run out of paper on purpose::

    possettle terminal printer --dir DIR --state paper_out   # calls set_state()

The state lives in a file, not in the process, so the command above changes the printer of a
terminal that is already running, the way opening the paper cover would. While it is not
``ok`` every job raises and nothing is written; once it is ``ok`` again jobs append their
ESC/POS bytes to ``printer.out`` (what a real printer would have been sent) and their text
to ``printer.txt`` (what a person reads).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from possettle.errors import ConfigError
from possettle.terminal.errors import PaperOut, PrinterOffline
from possettle.terminal.printer.documents import Document
from possettle.terminal.printer.escpos_job import escpos_job
from possettle.terminal.printer.layout import PaperWidth, render_text

STATE_FILE = "printer.json"
OUTPUT_FILE = "printer.out"
TEXT_FILE = "printer.txt"


class PrinterState(StrEnum):
    OK = "ok"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"


def read_state(directory: Path) -> PrinterState:
    """The simulated printer's state; a directory without a state file has a working printer."""
    path = directory / STATE_FILE
    try:
        return PrinterState(json.loads(path.read_text(encoding="utf-8"))["state"])
    except FileNotFoundError:
        return PrinterState.OK
    except (OSError, ValueError, KeyError, TypeError) as exc:
        allowed = ", ".join(s.value for s in PrinterState)
        raise ConfigError(f"{path}: not a printer state file ({allowed}): {exc}") from exc


def set_state(directory: Path, state: PrinterState) -> None:
    """Set the state atomically, so a running terminal never reads half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"state": state.value}) + "\n", encoding="utf-8")
    tmp.replace(path)


class SimulatedPrinter:
    """A printer whose paper and power are a file; keeps the last job for tests."""

    def __init__(self, directory: Path, *, width: PaperWidth = PaperWidth.MM58) -> None:
        self.directory = directory
        self.width = width
        self.last_text: str | None = None
        self.last_job: bytes | None = None

    def status(self) -> PrinterState:
        try:
            return read_state(self.directory)
        except ConfigError:
            return PrinterState.OFFLINE  # a printer whose state cannot be read does not answer

    def print_document(self, doc: Document) -> None:
        try:
            state = read_state(self.directory)
        except ConfigError as exc:
            raise PrinterOffline(f"simulated printer: {exc} / 模拟打印机状态文件损坏") from exc
        where = f"simulated printer in {self.directory}"
        if state is PrinterState.PAPER_OUT:
            raise PaperOut(
                f"{where} is out of paper: load paper (--state ok), then run "
                "`possettle terminal reprint` / 打印机缺纸：请装纸后重打印"
            )
        if state is PrinterState.OFFLINE:
            raise PrinterOffline(
                f"{where} is offline: bring it back (--state ok), then run "
                "`possettle terminal reprint` / 打印机脱机：恢复后请重打印"
            )
        job = escpos_job(doc, self.width)
        text = "\n".join(render_text(doc, self.width)) + "\n"
        try:
            with (self.directory / OUTPUT_FILE).open("ab") as out:
                out.write(job)
            with (self.directory / TEXT_FILE).open("a", encoding="utf-8") as out:
                out.write(text + "\n")
        except OSError as exc:
            raise PrinterOffline(f"{where} cannot write its output: {exc}") from exc
        self.last_job = job
        self.last_text = text

    def close(self) -> None:
        """Nothing to release; here so the simulated printer is a :class:`Printer`."""

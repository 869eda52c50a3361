"""The simulated printer's condition, kept in ``DIR/printer.json`` (see :mod:`.simulated`).

Apart from the device so that setting it (``possettle terminal printer --state``) does not
import python-escpos.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from possettle.errors import ConfigError

__all__ = ["STATE_FILE", "PrinterState", "read_state", "set_state"]

STATE_FILE = "printer.json"


class PrinterState(StrEnum):
    """The simulated mechanism's condition (what a fault injector sets)."""

    OK = "ok"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    CUTTER_JAM = "cutter_jam"
    OVERHEAT = "overheat"
    OFFLINE = "offline"  # powered off or unplugged: it answers nothing


def read_state(directory: Path) -> PrinterState:
    """The simulated printer's condition; a directory without a state file has a working one."""
    path = directory / STATE_FILE
    try:
        return PrinterState(json.loads(path.read_text(encoding="utf-8"))["state"])
    except FileNotFoundError:
        return PrinterState.OK
    except (OSError, ValueError, KeyError, TypeError) as exc:
        allowed = ", ".join(s.value for s in PrinterState)
        raise ConfigError.said(
            "terminal.printer_state_file", path=path, allowed=allowed, reason=exc
        ) from exc


def set_state(directory: Path, state: PrinterState) -> None:
    """Set the condition atomically, so a running terminal never reads half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"state": state.value}) + "\n", encoding="utf-8")
    tmp.replace(path)

"""The card reader as the terminal sees it: a device asked for its status before a card is read.

The core and the doctor see only :class:`CardReader`: ``status()`` answers ``None`` when the
reader is ready, or a stable :class:`ReaderCode` (journaled with the refusal, read by the
doctor). A sale with a reader that is not ready is refused (``reader.<code>``) before
anything is journaled or sent.

The simulated reader keeps its condition in ``DIR/reader.json``, the way the simulated
printer does; ``possettle terminal reader --dir DIR --state ok|fault|offline`` sets it, and
only the device reads it — the terminal and the doctor ask :meth:`SimulatedReader.status`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from possettle.errors import ConfigError

STATE_FILE = "reader.json"


class ReaderCode(StrEnum):
    """Why a card reader cannot read a card now (a ready reader has no code)."""

    FAULT = "fault"  # the reader reports a hardware fault (head, antenna, contacts)
    OFFLINE = "offline"  # the reader does not answer (cable, power)
    READ_ERROR = "read_error"  # a card was presented and could not be read (swipe, chip)
    NO_CARD = "no_card"  # no card was presented in time


#: the sentence a refusal shows for each code (English, Chinese)
REFUSALS: dict[ReaderCode, tuple[str, str]] = {
    ReaderCode.FAULT: (
        "The card reader reports a fault: clean or reconnect it.",
        "读卡器报告故障：请清洁或重新连接读卡器。",
    ),
    ReaderCode.OFFLINE: (
        "The card reader does not answer: check its cable and power.",
        "读卡器无响应：请检查连线和电源。",
    ),
    ReaderCode.READ_ERROR: (
        "The card could not be read: try again, or insert the chip.",
        "无法读卡：请重试或插入芯片卡。",
    ),
    ReaderCode.NO_CARD: ("No card was presented in time.", "未在规定时间内读到卡片。"),
}


class CardReader(Protocol):
    def status(self) -> ReaderCode | None:
        """What keeps the reader from reading a card now; ``None`` when it is ready."""
        ...


class ReaderState(StrEnum):
    """The simulated reader's condition (what a fault injector sets)."""

    OK = "ok"
    FAULT = "fault"
    OFFLINE = "offline"


def read_state(directory: Path) -> ReaderState:
    path = directory / STATE_FILE
    try:
        return ReaderState(json.loads(path.read_text(encoding="utf-8"))["state"])
    except FileNotFoundError:
        return ReaderState.OK
    except (OSError, ValueError, KeyError, TypeError) as exc:
        allowed = ", ".join(s.value for s in ReaderState)
        raise ConfigError.said(
            "terminal.reader_state_file", path=path, allowed=allowed, reason=exc
        ) from exc


def set_state(directory: Path, state: ReaderState) -> None:
    path = directory / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"state": state.value}), encoding="utf-8")
    tmp.replace(path)


class SimulatedReader:
    """A reader whose condition is ``reader.json`` in the terminal directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def status(self) -> ReaderCode | None:
        try:
            state = read_state(self.directory)
        except ConfigError:
            return ReaderCode.OFFLINE  # a reader whose condition cannot be read does not work
        if state is ReaderState.FAULT:
            return ReaderCode.FAULT
        if state is ReaderState.OFFLINE:
            return ReaderCode.OFFLINE
        return None


def open_reader(directory: Path) -> CardReader:
    """The terminal's card reader (the simulated one: the terminal has no reader setting)."""
    return SimulatedReader(directory)

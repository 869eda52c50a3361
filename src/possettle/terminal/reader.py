"""The card reader as the terminal sees it: a simulated reader whose state is a file.

``possettle terminal reader --dir DIR --state ok|fault`` sets it; a sale with a failing reader
is refused (``reader.fault``) and journaled as a read error, which the doctor counts.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from possettle.errors import ConfigError

STATE_FILE = "reader.json"


class ReaderState(StrEnum):
    OK = "ok"
    FAULT = "fault"


def read_state(directory: Path) -> ReaderState:
    path = directory / STATE_FILE
    try:
        return ReaderState(json.loads(path.read_text(encoding="utf-8"))["state"])
    except FileNotFoundError:
        return ReaderState.OK
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a reader state file (ok, fault): {exc}") from exc


def set_state(directory: Path, state: ReaderState) -> None:
    path = directory / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"state": state.value}), encoding="utf-8")
    tmp.replace(path)

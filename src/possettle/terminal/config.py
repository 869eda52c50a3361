"""A terminal's configuration: ``DIR/terminal.json`` beside its journal and key file.

The TMK is not here: it is sealed into the journal under the terminal's own key file
(``DIR/terminal.key``), as are the working keys after each sign-on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from possettle.errors import ConfigError

CONFIG_FILE = "terminal.json"
JOURNAL_FILE = "journal.db"
KEY_FILE = "terminal.key"


@dataclass(frozen=True)
class TerminalConfig:
    tid: str
    mid: str
    host: str = "127.0.0.1"
    port: int = 5000
    tpdu_destination: str = "0003"
    tpdu_source: str = "0000"
    version: str = "010000"
    region: str = ""
    merchant_name: str = "possettle merchant"
    currency: str = "156"
    timeout: float = 10.0
    reversal_attempts: int = 3
    max_journal_bytes: int | None = None
    printer: str = "sim"
    # Fault injection: the device clock runs this many seconds off (clock skew). Sign-on
    # corrects the terminal's own time from the host; the doctor reports the skew it saw.
    clock_skew_seconds: float = 0.0
    policy: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.tid) != 8 or not self.tid.isascii():
            raise ConfigError(f"TID {self.tid!r} must be 8 ASCII characters (field 41 ans8)")
        if len(self.mid) != 15 or not self.mid.isascii():
            raise ConfigError(f"MID {self.mid!r} must be 15 ASCII characters (field 42 ans15)")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port {self.port} is outside 1..65535")
        if len(self.version) != 6 or not self.version.isdigit():
            raise ConfigError(f"version {self.version!r} must be six digits (major minor patch)")
        if self.timeout <= 0:
            raise ConfigError(f"timeout {self.timeout} must be positive")

    @classmethod
    def load(cls, directory: Path) -> TerminalConfig:
        path = directory / CONFIG_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(
                f"{directory} is not a terminal directory (no {CONFIG_FILE}); "
                "run `possettle terminal init` first"
            ) from exc
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{path}: unknown settings {sorted(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc

    def save(self, directory: Path) -> None:
        path = directory / CONFIG_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", "utf-8")
        tmp.replace(path)

    def with_changes(self, **changes: Any) -> TerminalConfig:
        data = asdict(self)
        data.update(changes)
        return TerminalConfig(**data)

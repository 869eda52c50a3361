"""A terminal's configuration: ``DIR/terminal.json`` beside its journal and key file.

The TMK is not here: it is sealed into the journal under the terminal's own key file
(``DIR/terminal.key``), as are the working keys after each sign-on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from possettle.errors import ConfigError
from possettle.terminal.printer.spec import check_spec
from possettle.validation_messages import problems

CONFIG_FILE = "terminal.json"
#: the longest keep-alive interval accepted: a longer one is a unit slip (milliseconds?)
MAX_INTERVAL_S = 86_400.0
JOURNAL_FILE = "journal.db"
KEY_FILE = "terminal.key"


class InvalidConfig(ConfigError):
    """Settings that do not fit :class:`TerminalConfig`; ``problems`` names each fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        fields = "、".join(p.split(": ", 1)[0] for p in problems)
        self.worded("terminal.bad_settings", problems="; ".join(problems), fields=fields)

    def __reduce__(self) -> tuple[type[InvalidConfig], tuple[list[str]]]:
        return (type(self), (self.problems,))


#: journal meta keys: the merchant's name and address as the host sent them at sign-on
#: (possettle's extension, docs/protocol.md); receipts print them over ``merchant_name``
MERCHANT_NAME_META = "merchant_name"
MERCHANT_ADDRESS_META = "merchant_address"


class TerminalConfig(BaseModel):
    """The settings in ``terminal.json``: strict types, unknown keys refused.

    Built from code or read from the file, a bad setting is a :class:`ConfigError` naming each
    key and what is wrong (``DIR/terminal.json: port: port 70000 is outside 1..65535``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

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
    # Keeping the host informed (terminal/informer.py): an 0820 echo once the line has been
    # idle this long, and a status report this often, as a real POS does; 0 turns either off.
    echo_idle_s: float = Field(default=60.0, allow_inf_nan=False)
    status_report_s: float = Field(default=900.0, allow_inf_nan=False)
    policy: dict[str, Any] = Field(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidConfig(problems(exc)) from None

    @field_validator("tid")
    @classmethod
    def _tid(cls, tid: str) -> str:
        if len(tid) != 8 or not tid.isascii():
            raise ValueError(f"TID {tid!r} must be 8 ASCII characters (field 41 ans8)")
        return tid

    @field_validator("mid")
    @classmethod
    def _mid(cls, mid: str) -> str:
        if len(mid) != 15 or not mid.isascii():
            raise ValueError(f"MID {mid!r} must be 15 ASCII characters (field 42 ans15)")
        return mid

    @field_validator("port")
    @classmethod
    def _port(cls, port: int) -> int:
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is outside 1..65535")
        return port

    @field_validator("version")
    @classmethod
    def _version(cls, version: str) -> str:
        if len(version) != 6 or not version.isdigit():
            raise ValueError(f"version {version!r} must be six digits (major minor patch)")
        return version

    @field_validator("printer")
    @classmethod
    def _printer(cls, spec: str) -> str:
        check_spec(spec)
        return spec

    @field_validator("max_journal_bytes")
    @classmethod
    def _max_journal_bytes(cls, limit: int | None) -> int | None:
        if limit is not None and limit <= 0:
            raise ValueError(f"max_journal_bytes {limit} must be a positive number of bytes")
        return limit

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, timeout: float) -> float:
        if timeout <= 0:
            raise ValueError(f"timeout {timeout} must be positive")
        return timeout

    @field_validator("echo_idle_s", "status_report_s")
    @classmethod
    def _interval(cls, seconds: float, info: ValidationInfo) -> float:
        if seconds < 0:
            raise ValueError(f"{info.field_name} {seconds:g} is negative: give seconds, 0 is off")
        if seconds > MAX_INTERVAL_S:
            raise ValueError(
                f"{info.field_name} {seconds:g} is more than a day ({MAX_INTERVAL_S:.0f} s): "
                "give seconds, 0 is off"
            )
        return seconds

    @classmethod
    def load(cls, directory: Path) -> TerminalConfig:
        path = directory / CONFIG_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError.said("terminal.no_directory", directory=directory) from exc
        except (OSError, ValueError) as exc:
            raise ConfigError.said("terminal.unreadable_config", path=path, reason=exc) from exc
        if not isinstance(data, dict):
            raise ConfigError.said("terminal.config_not_object", path=path)
        try:
            return cls(**data)
        except InvalidConfig as exc:
            problems = "; ".join(exc.problems)
            fields = "、".join(p.split(": ", 1)[0] for p in exc.problems)
            raise ConfigError.said(
                "terminal.bad_config", path=path, problems=problems, fields=fields
            ) from None

    def save(self, directory: Path) -> None:
        path = directory / CONFIG_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.model_dump(), indent=2, sort_keys=True) + "\n", "utf-8")
        tmp.replace(path)

    def with_changes(self, **changes: Any) -> TerminalConfig:
        return TerminalConfig(**{**self.model_dump(), **changes})

"""terminal.json is checked as it is read: each fault named ``terminal.json: key: what``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from possettle.errors import ConfigError
from possettle.terminal.config import CONFIG_FILE, TerminalConfig

GOOD = {"tid": "T0000001", "mid": "M00000000000001", "port": 5001}


def load(tmp_path: Path, data: object) -> TerminalConfig:
    (tmp_path / CONFIG_FILE).write_text(json.dumps(data), "utf-8")
    return TerminalConfig.load(tmp_path)


def test_a_saved_configuration_loads_back_equal(tmp_path: Path) -> None:
    cfg = TerminalConfig(**GOOD, policy={"settlement_window": "always"})  # type: ignore[arg-type]
    cfg.save(tmp_path)
    assert TerminalConfig.load(tmp_path) == cfg
    assert cfg.with_changes(port=6000).port == 6000


CASES = [
    ({**GOOD, "port": "5001"}, r"port: Input should be a valid integer"),
    ({**GOOD, "port": 70000}, r"port: port 70000 is outside 1\.\.65535"),
    ({**GOOD, "tid": "T1"}, r"tid: TID 'T1' must be 8 ASCII characters \(field 41 ans8\)"),
    ({**GOOD, "timeout": 0}, r"timeout: timeout 0(\.0)? must be positive"),
    ({**GOOD, "timeout": "fast"}, r"timeout: Input should be a valid number"),
    (
        {**GOOD, "echo_idle_s": -1},
        r"echo_idle_s: echo_idle_s -1 is negative: give seconds, 0 is off",
    ),
    (
        {**GOOD, "status_report_s": 90000},
        r"status_report_s: status_report_s 90000 is more than a day \(86400 s\): "
        r"give seconds, 0 is off",
    ),
    ({**GOOD, "echo_idle_s": float("nan")}, r"echo_idle_s: Input should be a finite number"),
    ({**GOOD, "status_report_s": "15m"}, r"status_report_s: Input should be a valid number"),
    ({**GOOD, "colour": "red"}, r"colour: unknown setting"),
    ({"tid": "T0000001"}, r"mid: missing"),
    ({**GOOD, "policy": []}, r"policy: Input should be a valid dictionary"),
    ([1, 2], r"a JSON object of settings is expected"),
]


@pytest.mark.parametrize(("data", "message"), CASES)
def test_a_bad_setting_is_named_with_the_file_and_the_key(
    tmp_path: Path, data: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(tmp_path / CONFIG_FILE))}: {message}"):
        load(tmp_path, data)


def test_every_fault_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, {**GOOD, "port": 0, "colour": "red"})
    assert "port: port 0 is outside 1..65535" in str(info.value)
    assert "colour: unknown setting" in str(info.value)


def test_a_bad_value_built_in_code_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^tid: TID 'T1' must be 8 ASCII characters"):
        TerminalConfig(tid="T1", mid="M00000000000001")

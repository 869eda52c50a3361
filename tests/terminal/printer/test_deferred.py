"""The terminal's printer is opened on first use: a wrong spec is still refused at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from possettle.errors import ConfigError
from possettle.terminal.printer.deferred import DeferredPrinter


@pytest.mark.parametrize("spec", ["lpt1", "net:printer", "file:"])
def test_a_wrong_spec_is_refused_when_the_terminal_opens(spec: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="printer spec"):
        DeferredPrinter(spec, tmp_path)


def test_nothing_is_opened_until_asked_and_closing_an_unopened_one_is_harmless(
    tmp_path: Path,
) -> None:
    printer = DeferredPrinter("sim", tmp_path)
    printer.close()
    assert not (tmp_path / "printer.out").exists()
    assert printer.reports_status  # asking opens the simulated printer
    assert printer.status() is None

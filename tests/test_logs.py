"""Logs go to the stderr of the moment, masked, and never crash on a closed stream."""

from __future__ import annotations

import io
import logging
import sys

import pytest
import structlog

from possettle.logs import configure_logging


def test_a_stream_closed_since_configuration_is_never_written_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging(level=logging.INFO)
    first.close()  # a test runner's capture ends; the configuration lives on
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    structlog.get_logger("t").info("sale", pan="6222021234567890128")
    text = later.getvalue()
    assert "sale" in text
    assert "6222021234567890128" not in text and "622202" in text  # masked, 6 + 4


def test_logging_to_a_closed_stderr_is_dropped_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging(level=logging.INFO)
    dead = io.StringIO()
    dead.close()
    monkeypatch.setattr(sys, "stderr", dead)
    structlog.get_logger("t").error("host still serving")

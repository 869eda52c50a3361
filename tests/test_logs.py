"""Logs go to the stderr of the moment, masked, and never crash on a closed stream."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
import structlog

from possettle.logs import configure_logging
from tests.cardscan import luhn_numbers


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


PAN = "6222021234567890128"


def _stderr(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


CONTROLS = {
    "ESC": ("\x1b[2J", "\\x1b[2J"),
    "DEL": ("\x7f", "\\x7f"),
    "NUL": ("\x00", "\\x00"),
    "C1 NEL": ("\x85", "\\x85"),
    "line separator": ("\u2028", "\\u2028"),
    "bidi override": ("\u202e", "\\u202e"),
    "bidi isolate": ("\u2066", "\\u2066"),
    "newline": ("\n", "\\n"),
}


@pytest.mark.parametrize("json_lines", [False, True], ids=["console", "json"])
@pytest.mark.parametrize(("raw", "escaped"), CONTROLS.values(), ids=CONTROLS.keys())
def test_control_characters_in_any_value_are_escaped(
    monkeypatch: pytest.MonkeyPatch, json_lines: bool, raw: str, escaped: str
) -> None:
    configure_logging(json_lines=json_lines)
    out = _stderr(monkeypatch)
    structlog.get_logger("t").warning("refused", tid=f"12{raw}56", seen={"tid": [f"12{raw}56"]})
    text = out.getvalue()
    assert raw not in text.removesuffix("\n")
    assert len(text.splitlines()) == 1  # a newline from the wire forges no second line
    # JSON and repr() double the backslash of the escape; the escape is there either way
    assert text.replace("\\\\", "\\").count(f"12{escaped}56") == 2


def test_a_card_number_hidden_in_a_longer_digit_run_is_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure_logging()
    out = _stderr(monkeypatch)
    structlog.get_logger("t").info("upload", field48="0200000002" + "0" + PAN + "000000012345")
    assert PAN not in out.getvalue()
    assert PAN[:12] not in out.getvalue()


@pytest.mark.parametrize("json_lines", [False, True], ids=["console", "json"])
def test_an_escape_next_to_digits_makes_no_card_number(
    monkeypatch: pytest.MonkeyPatch, json_lines: bool
) -> None:
    configure_logging(json_lines=json_lines)
    out = _stderr(monkeypatch)
    structlog.get_logger("t").warning("refused", mid="\x1123456789012345")  # "\x11" + 14 digits
    assert luhn_numbers(out.getvalue()) == []
    assert "\\x112345" in out.getvalue().replace("\\\\", "\\")


def test_stdlib_records_go_through_the_same_masking_and_escaping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure_logging(json_lines=True)
    out = _stderr(monkeypatch)
    log = logging.getLogger("some.third.party")
    log.warning("declined pan=%s tid=%s", PAN, "12\x1b[2J56")
    try:
        raise ValueError(f"bad card {PAN}")
    except ValueError:
        log.exception("handler failed")
    text = out.getvalue()
    assert PAN not in text and "622202*********0128" in text
    assert "\x1b" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(e["level"], e["logger"]) for e in lines] == [
        ("warning", "some.third.party"),
        ("error", "some.third.party"),
    ]
    assert lines[0]["event"] == "declined pan=622202*********0128 tid=12\\x1b[2J56"
    assert "ValueError: bad card 622202*********0128" in lines[1]["exception"]
    assert "Traceback" in lines[1]["exception"]


def test_configuring_twice_adds_no_second_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging()
    configure_logging(json_lines=True)
    out = _stderr(monkeypatch)
    logging.getLogger("upstream").warning("once")
    structlog.get_logger("t").warning("twice?")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert json.loads(lines[0])["event"] == "once"


def test_stdlib_records_below_the_level_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging(level=logging.WARNING)
    out = _stderr(monkeypatch)
    logging.getLogger("possettle.upstream.iso8583").info("connected")
    logging.getLogger("somelibrary.worker").warning("shown")  # a logger no test configures
    assert "connected" not in out.getvalue()
    assert "shown" in out.getvalue()


def test_third_party_records_show_from_warning_ours_from_the_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure_logging(level=logging.INFO)
    out = _stderr(monkeypatch)
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    logging.getLogger("possettle.upstream.iso8583").info("issuer: connected")
    logging.getLogger("alembic.runtime.migration").warning("a warning")
    text = out.getvalue()
    assert "Context impl" not in text
    assert "issuer: connected" in text and "a warning" in text


def test_stdlib_logging_to_a_closed_stderr_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging()
    dead = io.StringIO()
    dead.close()
    monkeypatch.setattr(sys, "stderr", dead)
    logging.getLogger("upstream").error("host still serving")  # no "--- Logging error ---"

"""The doctor diagnoses from structured evidence only (issue 11): the journal's typed events,
the link's failure kind, the printer's and the reader's stable codes, response codes. It never
matches exception text, errno numbers or strings, or Python class names, which read differently
on another system, in another language or after a rename.

The scan reads every module of ``possettle.doctor`` and names each place that does; showing an
error's text to a person (``probe.error = str(exc)``) is fine, testing it is not.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from possettle.doctor.facts import JournalFacts
from possettle.doctor.probes import LinkProbe, probe_printer, probe_reader
from possettle.doctor.signals import Inputs, collect
from possettle.link.failure import LinkFailure
from possettle.terminal.journal.events import Event, PrintFailed, SettleFailed, SignOnRefused
from possettle.terminal.printer.simulated import PrinterState, set_state
from possettle.terminal.printer.status import PrinterCode
from possettle.terminal.reader import ReaderState
from possettle.terminal.reader import set_state as set_reader_state
from tests.terminal.printer.fake_net import FakeNetworkPrinter, net_printer_factory

__all__ = ["net_printer_factory"]  # the fixture, shared with the printer tests

DOCTOR = Path(__file__).resolve().parents[2] / "src" / "possettle" / "doctor"
NOW = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)

#: attributes that are an exception's text, number or class, or a class's name
FORBIDDEN_ATTRIBUTES = {
    "__name__",
    "__qualname__",
    "__class__",
    "__cause__",
    "__context__",
    "errno",
    "strerror",
    "winerror",
}
#: text normalised before it is searched
FORBIDDEN_CALLS = {"lower", "upper", "casefold"}
#: names that hold text: a substring test on them, or a pattern run over them, reads text
TEXT_NAME = re.compile(r"(^|_)(message|error|err|exc|text|msg|reason|stderr|stdout|line|en|zh)$")
ERRNO_TEXT = re.compile(r"errno|winerror", re.I)


def _name_of(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id in ("str", "repr", "format"):
            return "text"  # str(exc), repr(x): text by construction
        return _name_of(node.func)
    if isinstance(node, ast.Subscript):
        return _name_of(node.value)
    return ""


def _is_text(node: ast.AST) -> bool:
    return bool(TEXT_NAME.search(_name_of(node).lower())) or isinstance(node, ast.JoinedStr)


def offences(source: str, where: str) -> list[str]:
    """Every place in ``source`` that decides on an error's text, number or class."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if ERRNO_TEXT.search(node.value):
                found.append(f"{line}: the string {node.value!r} (an errno or OS message)")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if "errno" in names:
                found.append(f"{line}: imports errno")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f"{line}: .{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, receiver = node.func.attr, node.func.value
            if method in FORBIDDEN_CALLS:
                found.append(f"{line}: .{method}() (text normalised to be searched)")
            elif method in ("startswith", "endswith", "find", "index", "count") and _is_text(
                receiver
            ):
                found.append(f"{line}: .{method}() on {ast.unparse(receiver)}")
            elif (
                isinstance(receiver, ast.Name)
                and receiver.id == "re"
                and any(_is_text(a) for a in node.args[1:2])
            ):
                found.append(f"{line}: re.{method} over {ast.unparse(node.args[1])}")
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                left = node.left
                if (
                    isinstance(op, ast.In | ast.NotIn)
                    and isinstance(left, ast.Constant)
                    and isinstance(left.value, str)
                    and _is_text(right)
                ):
                    found.append(f"{line}: {ast.unparse(node)} (a substring of text)")
    return found


def test_the_doctor_never_decides_on_exception_text_errno_or_class_names() -> None:
    found = [
        hit
        for path in sorted(DOCTOR.rglob("*.py"))
        for hit in offences(path.read_text(encoding="utf-8"), path.name)
    ]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    "snippet",
    [
        # what signals.py and probes.py did before the evidence contract
        'refused = "Errno 111" in message or "refused" in message.lower()',
        'if "cannot connect" in message: pass',
        'if "no reply" in message: pass',
        'signal = f"print.failed.{type(exc).__name__}"',
        "import errno\nNO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH)",
        "if isinstance(cause, OSError) and cause.errno in NO_ROUTE: pass",
        "kind = connect_failure(exc.__cause__)",
        'if "MINVER=" in str(ev.value) or "MINVER=" in ev.en: pass',
        'if detail["error"].startswith("[Errno"): pass',
        'if re.search("timed out", error): pass',
    ],
)
def test_the_scan_names_each_way_of_reading_text(snippet: str) -> None:
    assert offences(snippet, "snippet"), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        'if f.link_failure is LinkFailure.REFUSED: s.add("settle.link.refused", ev)',
        'if code == "input.original" and detail.stan in voids: pass',
        'if cause_id.startswith("printer."): pass',
        "probe.error = str(exc)",
        'if "storage.full" in s.seen: pass',
    ],
)
def test_the_scan_lets_structured_evidence_through(snippet: str) -> None:
    assert offences(snippet, "snippet") == []


# --- the structured fields decide --------------------------------------------------------


def _inputs(**journal: Any) -> Inputs:
    facts = JournalFacts(config=None, readable=True, integrity_ok=True, free_bytes=1 << 30)
    for key, value in journal.items():
        setattr(facts, key, value)
    return Inputs(facts, "unknown", "unknown", LinkProbe(connect="skipped"), None, NOW)


@pytest.mark.parametrize(
    ("kind", "signal"),
    [
        (LinkFailure.REFUSED, "settle.link.refused"),
        (LinkFailure.TIMEOUT, "settle.link.timeout"),
        (LinkFailure.NO_ROUTE, "settle.link.no_route"),
        (LinkFailure.RESET, "settle.link.reset"),
        (LinkFailure.LOST_REPLY, "settle.link.lost_reply"),
        (None, "settle.link.unknown"),  # journaled by a version that did not record it
    ],
)
def test_a_settlement_stopped_by_the_link_is_read_from_its_failure_kind(
    kind: LinkFailure | None, signal: str
) -> None:
    # the message says the opposite of the kind: only the kind counts
    message = "[Errno 111] no reply, cannot connect"
    failure = SettleFailed(batch=1, step="settle", message=message, link=True, link_failure=kind)
    seen = collect(_inputs(failure=failure)).seen
    assert [k for k in seen if k.startswith("settle.link.")] == [signal]
    assert seen[signal][0].value == {"step": "settle", "code": "", "link_failure": kind}


def test_a_failed_print_is_read_from_its_printer_code() -> None:
    printed = Event(
        1, "2026-11-26T08:00:00+00:00", PrintFailed(code=PrinterCode.CUTTER_JAM, queue_id=1)
    )
    seen = collect(_inputs(events=[printed], print_queue=1)).seen
    assert [k for k in seen if k.startswith("print")] == ["print.failed.cutter_jam"]


def test_a_minimum_version_is_read_from_field_63_not_from_a_sentence() -> None:
    minver = SignOnRefused(code="58", stan=1, field63="MINVER=010200")
    refused = Event(1, "2026-11-26T08:00:00+00:00", minver)
    plain = Event(2, "2026-11-26T08:00:01+00:00", SignOnRefused(code="58", stan=2))
    assert "code.58.minver" in collect(_inputs(events=[refused])).seen
    assert "code.58.minver" not in collect(_inputs(events=[plain])).seen


# --- devices are asked, not their simulator's files ----------------------------------------


def test_the_doctor_never_opens_a_simulated_devices_state_file() -> None:
    imported = {
        f"{node.module}.{a.name}" if isinstance(node, ast.ImportFrom) else a.name
        for path in DOCTOR.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for a in node.names
    }
    state_files = {
        i for i in imported if "simulated" in i or i.endswith(("read_state", "STATE_FILE"))
    }
    assert state_files == set()


@pytest.mark.parametrize("state", [s for s in PrinterState if s is not PrinterState.OK])
def test_the_printer_probe_asks_the_simulated_printer_through_the_driver(
    tmp_path: Path, state: PrinterState
) -> None:
    set_state(tmp_path, state)
    assert probe_printer(tmp_path, "sim") == state.value


def test_the_printer_probe_asks_a_network_printer_its_status(
    tmp_path: Path, net_printer_factory: list[FakeNetworkPrinter]
) -> None:
    cover_open = FakeNetworkPrinter(
        FakeNetworkPrinter.PAPER_OK, online=FakeNetworkPrinter.OFFLINE, offline_cause=b"\x16"
    )
    net_printer_factory.append(cover_open)
    assert probe_printer(tmp_path, f"net:127.0.0.1:{cover_open.port}") is PrinterCode.COVER_OPEN


def test_a_printer_that_cannot_be_asked_is_unknown_and_is_not_opened(tmp_path: Path) -> None:
    lp = tmp_path / "lp0"
    lp.write_bytes(b"what the last job printed")
    assert probe_printer(tmp_path, f"file:{lp}") == "unknown"
    assert lp.read_bytes() == b"what the last job printed"  # not truncated by an open


@pytest.mark.parametrize(
    ("state", "probe"), [("ok", "ok"), ("fault", "fault"), ("offline", "offline")]
)
def test_the_reader_probe_asks_the_reader(tmp_path: Path, state: str, probe: str) -> None:
    set_reader_state(tmp_path, ReaderState(state))
    assert probe_reader(tmp_path) == probe

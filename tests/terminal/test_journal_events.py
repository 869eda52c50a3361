"""The journal's events have a schema (journal/events.py): every kind is written from its typed
detail and read back as it was written, and rows an older version wrote — other shapes, other
kinds, a Python class name where a printer code now stands — still read, as what they were or
as ``legacy``, never as an error."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from possettle.clock import FixedClock
from possettle.crypto.vault import Vault
from possettle.link.failure import LinkFailure
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import (
    DETAILS,
    BatchAdoption,
    BatchMismatch,
    Detail,
    EventKind,
    FaultInjected,
    JournalFull,
    KeyCheckFailed,
    Legacy,
    LinkCameUp,
    LinkWentDown,
    NoReply,
    PrintFailed,
    Recovery,
    Refusal,
    ReversalStuck,
    SettleFailed,
    SettleUnconfirmed,
    SignedOff,
    SignedOn,
    SignOnRefused,
    SoftwareCrashed,
    UncleanShutdown,
)
from possettle.terminal.journal.schema import SCHEMA_V1, SCHEMA_V2
from possettle.terminal.journal.store import Journal
from possettle.terminal.keepalive import LinkState, Via
from possettle.terminal.printer.status import PrinterCode
from tests.terminal.harness import DAYTIME

ONE_OF_EACH: list[Detail] = [
    UncleanShutdown(since="2026-11-26T08:00:00+00:00", batch=3),
    SoftwareCrashed(type="ValueError", point="send.sale.after"),
    SignedOn(batch=4),
    SignedOff(stan=12),
    SignOnRefused(code="58", stan=13, field63="MINVER=010200"),
    KeyCheckFailed(error="check value mismatch"),
    BatchMismatch(local=3, host=5),
    BatchAdoption(local=3, host=1),
    SettleFailed(
        batch=3, step="settle", code="", message="m", link=True, link_failure=LinkFailure.LOST_REPLY
    ),
    SettleUnconfirmed(batch=3, terminal_totals="a", host_totals="b"),
    NoReply(stan=14, error="no reply within 0.5s", link_failure=LinkFailure.RESET),
    ReversalStuck(code="96", batch=3, stan=14, attempts=3),
    PrintFailed(code=PrinterCode.COVER_OPEN, queue_id=2),
    Refusal.model_validate(
        {
            "code": "input.original",
            "operation": "void",
            "en": "e",
            "zh": "z",
            "stan": 9,
            "reason": "settled",
        }
    ),
    JournalFull(write="sale_intent"),
    FaultInjected.model_validate({"fault": "batch", "from": 1, "to": 42}),
    Recovery(code="ok", action="queue_reprint", result="ok", detail="printed"),
    LinkWentDown(via=Via.ECHO, before=LinkState.UP, link_failure=LinkFailure.REFUSED),
    LinkCameUp(via=Via.TRAFFIC, down_since="2026-11-26T08:10:00+00:00"),
]


def _open(path: Path) -> Journal:
    vault = Vault.load_or_create(path.parent / "k")
    return Journal.open(path, clock=FixedClock(DAYTIME), vault=vault)


def test_the_samples_cover_every_kind_a_row_can_be_written_as() -> None:
    assert {d.KIND for d in ONE_OF_EACH} == set(DETAILS) == set(EventKind) - {EventKind.LEGACY}


def test_every_kind_reads_back_as_it_was_written(tmp_path: Path) -> None:
    journal = _open(tmp_path / "journal.db")
    try:
        for detail in ONE_OF_EACH:
            journal.event(detail)
        read = [e for e in reversed(journal.events(limit=100)) if e.kind is not EventKind.LEGACY]
    finally:
        journal.close()
    assert [e.detail for e in read] == ONE_OF_EACH
    assert [e.kind for e in read] == [d.KIND for d in ONE_OF_EACH]
    assert read[12].code == "cover_open"  # the printer code is the row's code


def test_a_legacy_event_cannot_be_written(tmp_path: Path) -> None:
    journal = _open(tmp_path / "journal.db")
    try:
        with pytest.raises(ValueError, match="read, never written"):
            journal.event(Legacy(stored_kind="filler", data={}))
    finally:
        journal.close()


def _old_journal(path: Path, rows: list[tuple[str, str, str]], version: int) -> None:
    """A journal as an older version left it: its schema, its rows as they were written."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    if version >= 2:
        conn.executescript(SCHEMA_V2)
    conn.executemany(
        "INSERT INTO events (at, kind, code, detail) VALUES ('2026-11-26T08:00:00+00:00', ?, ?, ?)",
        rows,
    )
    conn.execute(
        "INSERT INTO print_queue (kind, doc, created_at, attempts, last_error)"
        " VALUES ('slip', '{}', '2026-11-26T08:00:00+00:00', 1, 'PaperOut')"
    )
    conn.execute(f"PRAGMA user_version={version}")
    conn.commit()
    conn.close()


# rows exactly as the version before the event schema wrote them
OLD_ROWS = [
    (
        "settle_failed",
        "",
        json.dumps(
            {"batch": 1, "step": "settle", "code": "", "message": "cannot connect", "link": True}
        ),
    ),
    ("print_failed", "PaperOut", json.dumps({"queue_id": 1})),
    ("print_failed", "PrinterOffline", json.dumps({"queue_id": 1})),
    ("no_reply", "", json.dumps({"stan": 7, "error": "no reply within 10.0s"})),
    ("unclean_shutdown", "", json.dumps({"since": None})),
    (
        "refused",
        "operator.locked",
        json.dumps({"operation": "sale", "en": "e", "zh": "z", "operator_id": "01"}),
    ),
    ("filler", "", json.dumps({"i": 1})),  # a kind this version does not know
    ("signed_on", "00", json.dumps({"batch": "not a number"})),  # a detail that does not fit
    ("no_reply", "", "not json"),
]


def test_an_old_journal_reads_with_what_did_not_fit_as_legacy(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    _old_journal(path, OLD_ROWS, version=2)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # as the doctor reads it
    try:
        read = list(reversed(q.events(conn)))
    finally:
        conn.close()
    details = [e.detail for e in read]
    assert details[0] == SettleFailed(batch=1, step="settle", message="cannot connect", link=True)
    assert details[0].link_failure is None  # not recorded then: the doctor says "unknown"
    # a class name is no printer code: as stored, until the journal is upgraded (below)
    assert details[1] == Legacy(code="PaperOut", stored_kind="print_failed", data={"queue_id": 1})
    assert details[3] == NoReply(stan=7, error="no reply within 10.0s")
    assert details[4] == UncleanShutdown(since=None, batch=None)
    assert isinstance(details[5], Refusal) and details[5].operator_id == "01"
    assert details[6] == Legacy(stored_kind="filler", data={"i": 1})
    assert details[7] == Legacy(code="00", stored_kind="signed_on", data={"batch": "not a number"})
    assert details[8] == Legacy(stored_kind="no_reply", data="not json")
    assert [e.kind for e in read].count(EventKind.LEGACY) == 5


def test_upgrading_an_old_journal_turns_printer_class_names_into_printer_codes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    _old_journal(path, OLD_ROWS, version=2)
    journal = _open(path)
    try:
        printed = journal.events(EventKind.PRINT_FAILED)
        last_error = journal.conn.execute("SELECT last_error FROM print_queue").fetchone()[0]
    finally:
        journal.close()
    assert [e.detail for e in reversed(printed)] == [
        PrintFailed(code=PrinterCode.PAPER_OUT, queue_id=1),
        PrintFailed(code=PrinterCode.OFFLINE, queue_id=1),
    ]
    assert last_error == "paper_out"


def test_a_sign_on_refusal_names_the_minimum_version_only_when_field_63_does() -> None:
    assert SignOnRefused(code="58", stan=1, field63="MINVER=010200").min_version == "010200"
    assert SignOnRefused(code="58", stan=1, field63="").min_version is None
    assert SignOnRefused(code="58", stan=1, field63="MINVER=12").min_version is None

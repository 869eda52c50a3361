"""Facts about one of our terminals from its own journal, through the doctor (read-only).

The doctor reads the journal and asks the printer and the card reader
(:func:`possettle.doctor.facts.read_journal`, :mod:`possettle.doctor.probes`) and turns what it
found into its signals (:func:`possettle.doctor.signals.collect`): those signals, with the
doctor's evidence, go to the support desk as they are. The host link is not probed (the desk
only looks) and no status report is sent. What the journal knows also answers the desk's
questions: whether the slip printed and what it said, the paper, a power cut, the sign-on,
a reversal, whether a sale works, the last settlement.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from possettle.doctor.facts import JournalFacts, read_journal
from possettle.doctor.hostview import read_host
from possettle.doctor.probes import LinkProbe, probe_printer, probe_reader
from possettle.doctor.signals import Inputs, Signals, collect
from possettle.ledger.dayreport import DEFAULT_ZONE, business_day, zone
from possettle.support.ours_host import RECENT, RECENT_SETTLEMENT
from possettle.terminal.config import JOURNAL_FILE
from possettle.terminal.journal.events import EventKind
from possettle.terminal.printer.status import PrinterCode


@dataclass
class JournalView:
    tid: str | None
    readable: bool
    signals: Signals
    answers: dict[str, str] = field(default_factory=dict)
    escalation: dict[str, Any] = field(default_factory=dict)


def _at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def read_terminal(directory: Path, now: datetime, host: sa.Engine | None) -> JournalView:
    journal = read_journal(directory, now)
    cfg = journal.config
    printer = probe_printer(directory, cfg.printer if cfg else "sim")
    link = LinkProbe(connect="skipped", why="no_probe")
    host_facts = read_host(host, cfg.tid, now) if host is not None and cfg is not None else None
    inputs = Inputs(journal, printer, probe_reader(directory), link, host_facts, now)
    signals = collect(inputs)
    view = JournalView(cfg.tid if cfg else None, journal.readable, signals)
    a = view.answers
    if isinstance(printer, PrinterCode):
        a["paper"] = "empty" if printer is PrinterCode.PAPER_OUT else "fault"
    elif printer == "ok":
        a["paper"] = "ok"
    if not journal.readable:
        return view
    a["model"] = "possettle"
    a["acquirer"] = "possettle"
    a["power_cut"] = "yes" if "power.unclean" in signals.seen else "no"
    start, _ = business_day(now.astimezone(zone(DEFAULT_ZONE)).date(), zone(DEFAULT_ZONE))
    _signed_on(journal, a, start)
    _slip(journal, a)
    _reversal(journal, a, start)
    path = directory / JOURNAL_FILE
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        _history(conn, a, start, now)
        _reversals_today(conn, a, start)
        _last_txn(conn, view.escalation)
    except sqlite3.DatabaseError:
        pass  # the doctor's signals already say the journal cannot be read
    finally:
        conn.close()
    _escalation(journal, view.escalation)
    return view


def _signed_on(j: JournalFacts, a: dict[str, str], start: datetime) -> None:
    refused = None
    for e in j.events:  # newest first
        if e.kind is EventKind.SIGNED_ON:
            break
        if e.kind is EventKind.SIGN_ON_REFUSED:
            refused = e
            break
    signed = _at(j.signed_on_at)
    if refused is not None and (_at(refused.at) or start) >= start:
        a["signed_on"] = "failed"
    elif j.signed_on and signed is not None and signed >= start:
        a["signed_on"] = "yes"
    else:
        a["signed_on"] = "no"


def _slip(j: JournalFacts, a: dict[str, str]) -> None:
    st = j.settlement
    if st is None:
        return
    if st.step.value != "done" or j.unsettled_batch is not None:
        a["slip_printed"] = "no"  # stopped before the slip, or the slip waits for the printer
    elif st.result == "balanced":
        a["slip_printed"] = "balanced"
    elif st.result == "balanced_after_upload":
        a["slip_printed"] = "unbalanced"  # the totals differed and the batch was uploaded


def _reversal(j: JournalFacts, a: dict[str, str], start: datetime) -> None:
    """A reversal still owed: "failed" once the terminal gave up sending it (the screen said
    冲正失败), else "auto" (it said 自动冲正 and goes on trying)."""
    limit = j.config.reversal_attempts if j.config else 3
    stuck = [r for r in j.reversals if r.attempts >= limit]
    gave_up = [
        e for e in j.events if e.kind is EventKind.REVERSAL_STUCK and (_at(e.at) or start) >= start
    ]
    if stuck or gave_up:
        a["reversal"] = "failed"
    elif j.reversals:
        a["reversal"] = "auto"


def _reversals_today(conn: sqlite3.Connection, a: dict[str, str], start: datetime) -> None:
    if "reversal" in a:
        return
    rows = conn.execute("SELECT created_at FROM reversals").fetchall()
    today = [at for (text,) in rows if (at := _at(str(text))) is not None and at >= start]
    a["reversal"] = "auto" if today else "no"


def _history(conn: sqlite3.Connection, a: dict[str, str], start: datetime, now: datetime) -> None:
    done = conn.execute(
        "SELECT finished_at FROM settlements WHERE step = 'done' AND finished_at != ''"
        " ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    last = _at(done[0]) if done else None
    any_settlement = conn.execute("SELECT 1 FROM settlements LIMIT 1").fetchone()
    if last is not None:
        a["last_settled"] = "recent" if now - last <= RECENT_SETTLEMENT else "long_ago"
    elif any_settlement is None:
        a["last_settled"] = "never"
    # started_at is the terminal's ISO time: compare as instants, not as text
    rows = conn.execute(
        "SELECT step, result, started_at FROM settlements ORDER BY started_at DESC LIMIT 20"
    ).fetchall()
    earlier = [r for r in rows if (at := _at(str(r[2]))) is not None and at < start]
    before = earlier[0] if earlier else None
    if before is not None:
        a["worked_yesterday"] = "yes" if before[0] == "done" else "no"
    sale = conn.execute(
        "SELECT state, created_at FROM txns WHERE kind = 'sale' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    at = _at(str(sale[1])) if sale else None
    if sale is not None and at is not None and now - at <= RECENT:
        if sale[0] == "approved":
            a["sale_works"] = "yes"
        elif sale[0] in ("declined", "failed"):
            a["sale_works"] = "no"


def _last_txn(conn: sqlite3.Connection, package: dict[str, Any]) -> None:
    row = conn.execute(
        "SELECT batch, stan, rrn, kind, created_at FROM txns ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is not None:
        # STAN and RRN identify the transaction to the acquirer; no card data goes with them
        package |= {
            "last_batch": int(row[0]),
            "last_stan": f"{int(row[1]):06d}",
            "last_rrn": str(row[2] or ""),
            "last_kind": str(row[3]),
            "last_txn_at": str(row[4]),
            # the names the engine's escalation items read (support/engine.py, _ITEMS)
            "stan": f"{int(row[1]):06d}",
            "rrn": str(row[2] or ""),
        }


def _escalation(j: JournalFacts, package: dict[str, Any]) -> None:
    cfg = j.config
    if cfg is not None:
        package |= {
            "tid": cfg.tid,
            "mid": cfg.mid,
            "merchant": cfg.merchant_name,
            "software_version": cfg.version,
        }
    package["batch"] = j.batch
    if j.unsettled_batch is not None and j.settlement is not None:
        package["failed_batch"] = j.unsettled_batch
        package["time"] = j.settlement.started_at  # when the failed settlement began
    if j.failure is not None:
        package["failed_step"] = j.failure.step
        package["failure_code"] = j.failure.code
    if j.reversals:
        package["pending_reversals"] = [
            {"batch": r.batch, "stan": f"{r.stan:06d}", "attempts": r.attempts} for r in j.reversals
        ]
    if j.print_queue:
        package["slips_waiting"] = j.print_queue
    if j.signed_on_at:
        package["terminal_signed_on_at"] = j.signed_on_at

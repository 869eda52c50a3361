"""``terminal rescue``: a fresh journal holding what a damaged one still says is unsettled.

What it does, in order (nothing is changed until the fresh journal is complete):

1. reads the damaged ``journal.db`` (with its write-ahead log) page by page
   (:func:`~.rows.rescue`), each transaction checked down to its sealed card number, which
   must open under ``terminal.key`` and match the masked one;
2. writes the rescue export (:mod:`possettle.terminal.export`, ``source: "rescue"``) — the
   file to hand the acquirer should the batch not settle;
3. builds the fresh journal beside it (``journal.db.rescue``) in one transaction: the
   unsettled transactions with their ids, batch, trace numbers, sealed card numbers and
   states (none marked uploaded: the settlement starts afresh and uploads what it must), a
   pending reversal for each sale or void of unknown fate, the operators, the TMK, the open
   batch (the oldest unsettled one), the trace-number counter (where the damaged journal left
   it; past every trace number read, plus :data:`STAN_GAP`, when that is lost — a trace
   number is never used twice) and "sign on again";
4. moves the damaged files aside (``journal.db.corrupt-<time>``) and the fresh journal in.

``possettle terminal settle`` then settles the batch as usual: reversals, offline advices,
the 0500 with the rescued totals, and a batch upload when the host's totals differ (a lost
transaction the host approved is in the host's books, and the upload shows it the rest).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from possettle.clock import Clock
from possettle.crypto.errors import CryptoError
from possettle.crypto.keys import Key
from possettle.crypto.vault import Vault
from possettle.terminal.config import JOURNAL_FILE, KEY_FILE, TerminalConfig
from possettle.terminal.errors import JournalError, Refused
from possettle.terminal.export import export_rescue
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import Recovery
from possettle.terminal.journal.records import TxnState
from possettle.terminal.journal.store import Journal
from possettle.terminal.operators import OPERATOR_SCHEMA
from possettle.terminal.rescue.rows import COLUMNS, Rescued, rescue

#: trace numbers skipped when the damaged journal's counter is lost: more than a day's use
STAN_GAP = 1000
REVERSAL_NO_REPLY = "98"
_SUFFIXES = ("", "-wal", "-shm")


def _stan_after(found: Rescued) -> int:
    """The trace-number counter for the fresh journal (the next STAN is one more)."""
    counter = found.meta().get("stan", "")
    if counter.isdigit():
        return int(counter)
    seen = [t["stan"] for t in found.table("txns")]
    for s in found.table("settlements"):
        seen += [v for v in (s["stan"], s["upload_stan"], s["end_stan"]) if isinstance(v, int)]
    return (max(seen, default=0) + STAN_GAP - 1) % 999_999 + 1


def _healthy(path: Path) -> bool:
    """Whether SQLite reads the whole journal without fault (``PRAGMA integrity_check``)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        return [r[0] for r in db.execute("PRAGMA integrity_check")] == ["ok"]
    except sqlite3.DatabaseError:
        return False
    finally:
        db.close()


def _tmk(found: Rescued, vault: Vault, given: Key | None) -> Key:
    sealed = found.meta().get("key.tmk")
    if sealed:
        with contextlib.suppress(CryptoError, ValueError):
            return vault.open_key(bytes.fromhex(sealed), b"key:tmk")
    if given is not None:
        return given
    raise Refused(
        "rescue.no_tmk",
        "The master key (TMK) cannot be read from the damaged journal: give it with --tmk "
        "(nothing was changed)",
        "无法从损坏的交易流水中读出主密钥（TMK）：请用 --tmk 提供（未做任何修改）",
    )


def rebuild(
    directory: Path, clock: Clock, *, export_to: Path | None = None, tmk: Key | None = None
) -> dict[str, Any]:
    """Rescue ``directory``'s damaged journal into a fresh one; what was rescued and lost."""
    config = TerminalConfig.load(directory)
    path = directory / JOURNAL_FILE
    if not path.exists():
        raise JournalError(f"no journal at {path}")
    if not (directory / KEY_FILE).exists():
        raise JournalError(
            f"{directory / KEY_FILE} is missing: the sealed card numbers cannot be opened, so "
            "no batch can be uploaded; hand `possettle terminal export --rescue` to the acquirer"
        )
    if _healthy(path):
        raise Refused(
            "rescue.not_damaged",
            f"{path} passes SQLite's integrity check: there is nothing to rescue (nothing was "
            "changed; `possettle terminal export` exports it for service)",
            f"{path} 完整性检查正常，无需抢救"
            "（未做任何修改；可用 `possettle terminal export` 导出）",
        )
    vault = Vault.load_or_create(directory / KEY_FILE)
    found = rescue(path, vault)
    key = _tmk(found, vault, tmk)
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    export = export_to or directory / f"rescue-{stamp}.jsonl"
    summary = export_rescue(directory, export, clock, found)
    fresh = directory / (JOURNAL_FILE + ".rescue")
    for suffix in _SUFFIXES:
        Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    journal = Journal.open(fresh, clock=clock, vault=vault, extra_schema=(OPERATOR_SCHEMA,))
    try:
        batch = _fill(journal, found, key, summary)
    finally:
        journal.close()
    aside = directory / f"{JOURNAL_FILE}.corrupt-{stamp}"
    for suffix in _SUFFIXES:
        damaged = Path(f"{path}{suffix}")
        if damaged.exists():
            damaged.replace(Path(f"{aside}{suffix}"))
    fresh.replace(path)
    with contextlib.suppress(OSError):  # the renames survive a power cut once the dir is synced
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return {
        "ok": True,
        "tid": config.tid,
        "export": str(export),
        "damaged_journal": str(aside),
        "batch": batch,
        "summary": summary,
    }


def _fill(journal: Journal, found: Rescued, key: Key, summary: dict[str, Any]) -> int:
    """Write the fresh journal's rows; the batch it opens with."""
    unsettled = found.unsettled()
    by_id = found.rows.get("txns", {})
    waiting = {
        r["txn_id"]: r["reason"] for r in found.table("reversals") if r["state"] == "pending"
    }
    now = journal.now()
    with journal.write("meta") as conn:
        names = [c[0] for c in COLUMNS["txns"]]
        for t in unsettled:
            row = {**by_id[t.id], "uploaded": 0}
            conn.execute(
                f"INSERT INTO txns ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",  # noqa: S608
                [row[n] for n in names],
            )
            if t.state is TxnState.PENDING and t.kind.reversible:
                q.add_reversal(conn, t.id, waiting.get(t.id, REVERSAL_NO_REPLY), now)
        ops = [c[0] for c in COLUMNS["operators"]]
        for op in found.table("operators"):
            conn.execute(
                f"INSERT INTO operators ({', '.join(ops)}) VALUES ({', '.join('?' * len(ops))})",  # noqa: S608
                [op[n] for n in ops],
            )
        batches = [t.batch for t in unsettled]
        settled = found.settled_batches()
        batch = min(batches, default=found.open_batch() or max(settled, default=0) % 999_999 + 1)
        q.set_batch(conn, batch)
        journal.set_meta(conn, "stan", str(_stan_after(found)))
        offset = found.meta().get("clock_offset")
        if offset is not None:
            journal.set_meta(conn, "clock_offset", offset)
        journal.set_meta(conn, "needs_signon", "1")
        q.store_key(conn, journal.vault, "tmk", key)
        rescue = summary["unsettled"]
        detail = (
            f"{rescue['transactions']} unsettled transactions rescued; "
            f"{summary['rescue']['transactions_lost']} lost"
        )
        journal.add_event(conn, Recovery(action="journal.rescue", result="rebuilt", detail=detail))
    return batch

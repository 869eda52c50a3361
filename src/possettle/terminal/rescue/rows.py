"""What a damaged journal still holds, row by row, each row checked as the journal writes it.

:func:`rescue` reads the file with :mod:`.pages`, puts each row found under its table (by
the b-tree that reached it, or — for a leaf page no tree reached — by its shape: the number
and types of its values), checks each against what the terminal writes (a transaction's kind,
state, amount, batch, trace number, masked card, dates; a sealed card number that opens under
the terminal's key and is that card) and keeps the rows that pass. A row found twice with
different values (a stale copy) is kept only where a b-tree reached it, else dropped and
counted. Transactions are never deleted, so a gap in their ids is a transaction lost.

The unsettled transactions are those of batches no ``done`` settlement closed: the batch in
the journal's meta and later, and earlier ones whose settlement was unfinished (when the meta
is lost, the batches after the last settled one).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from possettle.cards import mask_pan
from possettle.crypto.errors import VaultError
from possettle.crypto.vault import Vault
from possettle.terminal.journal.records import SettleStep, TxnKind, TxnRow, TxnState
from possettle.terminal.journal.schema import MIGRATIONS, VERSION
from possettle.terminal.operators import OPERATOR_SCHEMA
from possettle.terminal.rescue.pages import Image, Row, Scan, Value, scan

#: the tables rescued, in the order they are written back
TABLES = ("meta", "txns", "reversals", "settlements", "operators", "events", "print_queue")
_MASKED = re.compile(r"^\d{6}\*{3,9}\d{4}$|^\**\d{4}$")
_DIGITS = {"local_time": 6, "local_date": 4, "currency": 3}


def _columns() -> dict[str, list[tuple[str, str, bool]]]:
    """(name, declared type, is the rowid) of each table's columns, as this version makes them."""
    db = sqlite3.connect(":memory:")
    try:
        for version in range(1, VERSION + 1):
            db.executescript(MIGRATIONS[version])
        db.executescript(OPERATOR_SCHEMA)
        out = {}
        for table in TABLES:
            info = db.execute(f"PRAGMA table_info({table})").fetchall()
            out[table] = [
                (str(c[1]), str(c[2]).upper(), bool(c[5]) and str(c[2]).upper() == "INTEGER")
                for c in info
            ]
        return out
    finally:
        db.close()


COLUMNS = _columns()


def _fits(table: str, values: list[Value]) -> bool:
    cols = COLUMNS[table]
    if len(values) != len(cols):
        return False
    for (_, kind, is_rowid), v in zip(cols, values, strict=True):
        if is_rowid:
            if v is not None:
                return False
        elif v is not None and not {
            "INTEGER": isinstance(v, int),
            "TEXT": isinstance(v, str),
            "BLOB": isinstance(v, bytes),
        }.get(kind, True):
            return False
    return True


def _as_dict(table: str, row: Row) -> dict[str, Any]:
    return {
        name: (row.rowid if is_rowid else v)
        for (name, _, is_rowid), v in zip(COLUMNS[table], row.values, strict=True)
    }


def _when(text: object) -> bool:
    try:
        datetime.fromisoformat(str(text))
    except ValueError:
        return False
    return True


def check_txn(r: dict[str, Any], vault: Vault | None) -> str | None:
    """Why ``r`` is not a transaction row the terminal wrote, or None."""
    try:
        TxnKind(r["kind"])
        TxnState(r["state"])
    except ValueError:
        return "kind or state unknown"
    if not (isinstance(r["amount"], int) and 0 < r["amount"] <= 999_999_999_999):
        return "amount out of range"
    for name in ("batch", "stan"):
        if not (isinstance(r[name], int) and 0 < r[name] <= 999_999):
            return f"{name} out of range"
    for name, n in _DIGITS.items():
        if not (isinstance(r[name], str) and len(r[name]) == n and r[name].isdigit()):
            return f"{name} malformed"
    if not _MASKED.match(str(r["pan_masked"])) or not _when(r["created_at"]):
        return "card or time malformed"
    if r["voided"] not in (0, 1) or r["uploaded"] not in (0, 1) or r["domestic"] not in (0, 1):
        return "flag malformed"
    if vault is not None:
        aad = f"txn:{r['batch']:06d}:{r['stan']:06d}".encode()
        try:
            pan = vault.open(bytes(r["pan_sealed"]), aad).decode()
        except (VaultError, UnicodeDecodeError, TypeError):
            return "sealed card does not open"
        if mask_pan(pan) != r["pan_masked"]:
            return "sealed card does not match the masked one"
    return None


def _check(table: str, r: dict[str, Any], vault: Vault | None) -> str | None:
    if table == "txns":
        return check_txn(r, vault)
    if table == "settlements":
        try:
            SettleStep(r["step"])
        except ValueError:
            return "step unknown"
        return None if _when(r["started_at"]) else "time malformed"
    if table == "reversals":
        ok = r["state"] in ("pending", "done") and isinstance(r["txn_id"], int)
        return None if ok else "state malformed"
    if table == "events" or table == "print_queue":
        return None if _when(r["created_at" if table == "print_queue" else "at"]) else "time"
    return None


@dataclass
class Rescued:
    """The rows that passed, by table (keyed by rowid), and what could not be read."""

    rows: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    damaged: dict[str, int] = field(default_factory=dict)  # rows found that failed a check
    conflicts: dict[str, int] = field(default_factory=dict)  # differing copies, none kept
    bad_pages: int = 0
    bad_cells: int = 0
    unplaced: int = 0  # rows whose table could not be told
    wal_frames: int = 0
    roots_known: bool = True

    def table(self, name: str) -> list[dict[str, Any]]:
        return [self.rows.get(name, {})[k] for k in sorted(self.rows.get(name, {}))]

    def meta(self) -> dict[str, str]:
        return {str(r["key"]): str(r["value"]) for r in self.table("meta")}

    def missing_txn_ids(self) -> list[int]:
        """Ids below the highest one read that no readable row has: transactions lost."""
        have = set(self.rows.get("txns", {}))
        return [i for i in range(1, max(have, default=0) + 1) if i not in have]

    def settled_batches(self) -> set[int]:
        return {r["batch"] for r in self.table("settlements") if r["step"] == SettleStep.DONE}

    def open_batch(self) -> int | None:
        batch = self.meta().get("batch")
        return int(batch) if batch and batch.isdigit() else None

    def unsettled_test(self) -> Callable[[int], bool]:
        """Whether no settlement has closed a batch (see the module's doc)."""
        done = self.settled_batches()
        current = self.open_batch()
        floor = current if current is not None else max(done, default=0) + 1
        unfinished = {r["batch"] for r in self.table("settlements") if r["step"] != SettleStep.DONE}
        return lambda batch: batch not in done and (batch >= floor or batch in unfinished)

    def unsettled(self) -> list[TxnRow]:
        """The transactions of batches no settlement has closed."""
        open_ = self.unsettled_test()
        return [_txn(r) for r in self.table("txns") if open_(r["batch"])]

    def lost_receipts(self) -> list[dict[str, Any]]:
        """Approved transactions of unsettled batches known only from their receipt: the print
        queue read, the transaction's row not (amounts in fen, the card's last 4 digits)."""
        have = {(r["batch"], r["stan"]) for r in self.table("txns")}
        open_ = self.unsettled_test()
        lost: dict[tuple[int, int], dict[str, Any]] = {}
        for row in self.table("print_queue"):
            try:
                doc = json.loads(row["doc"]) if row["kind"] == "receipt" else None
            except ValueError:
                continue
            if not isinstance(doc, dict) or doc.get("reprint"):
                continue
            batch, stan = doc.get("batch"), doc.get("stan")
            if not isinstance(batch, int) or not isinstance(stan, int):
                continue
            if (batch, stan) in have or not open_(batch):
                continue
            lost[(batch, stan)] = {
                "batch": batch,
                "voucher": stan,
                "kind": doc.get("kind"),
                "amount": doc.get("amount"),
                "card_last4": doc.get("pan_last4"),
                "rrn": doc.get("rrn"),
            }
        return [lost[k] for k in sorted(lost)]

    def missing_unsettled(self) -> list[int]:
        """Lost ids after the last transaction of a settled batch: they may be unsettled."""
        done = self.settled_batches()
        settled = [r["id"] for r in self.table("txns") if r["batch"] in done]
        last = max(settled, default=0)
        return [i for i in self.missing_txn_ids() if i > last]


def _txn(r: dict[str, Any]) -> TxnRow:
    return TxnRow(
        id=r["id"], batch=r["batch"], stan=r["stan"], kind=TxnKind(r["kind"]),
        state=TxnState(r["state"]), amount=r["amount"], currency=r["currency"],
        pan_masked=r["pan_masked"], card_org=r["card_org"], domestic=bool(r["domestic"]),
        entry_mode=r["entry_mode"], operator=r["operator"], local_time=r["local_time"],
        local_date=r["local_date"], created_at=r["created_at"], rrn=r["rrn"],
        auth_code=r["auth_code"], response_code=r["response_code"], orig_batch=r["orig_batch"],
        orig_stan=r["orig_stan"], orig_date=r["orig_date"], voided=bool(r["voided"]),
        uploaded=bool(r["uploaded"]),
    )  # fmt: skip


def rescue(path: Path, vault: Vault | None = None) -> Rescued:
    """Every row of the journal at ``path`` that can still be read and passes its check.

    With ``vault`` (the terminal's key file) a transaction's sealed card number must open and
    match its masked form, which tells a damaged row from a good one beyond doubt.
    """
    image = Image.read(path)
    found = scan(image)
    out = Rescued(
        bad_pages=len(found.bad_pages),
        bad_cells=found.bad_cells,
        wal_frames=image.wal_frames,
        roots_known=found.roots_known,
    )
    _place(out, found, vault)
    return out


def _place(out: Rescued, found: Scan, vault: Vault | None) -> None:
    reached: dict[str, dict[int, dict[str, Any]]] = {t: {} for t in TABLES}
    for table in TABLES:
        for row in found.tables.get(table, []):
            _keep(out, reached[table], table, row, vault)
    strays: dict[str, dict[int, list[dict[str, Any]]]] = {t: {} for t in TABLES}
    for row in found.orphans:
        shaped = next((t for t in TABLES if _fits(t, row.values)), None)
        if shaped is None:
            out.unplaced += 1
            continue
        table = shaped
        r = _as_dict(table, row)
        why = _check(table, r, vault)
        if why is not None:
            out.damaged[table] = out.damaged.get(table, 0) + 1
            continue
        strays[table].setdefault(row.rowid, []).append(r)
    for table, by_id in strays.items():
        for rowid, copies in by_id.items():
            if rowid in reached[table]:
                continue  # the copy a b-tree reached is the live one
            if any(c != copies[0] for c in copies):
                out.conflicts[table] = out.conflicts.get(table, 0) + 1
                continue
            reached[table][rowid] = copies[0]
    out.rows = reached


def _keep(
    out: Rescued, into: dict[int, dict[str, Any]], table: str, row: Row, vault: Vault | None
) -> None:
    if not _fits(table, row.values):
        out.damaged[table] = out.damaged.get(table, 0) + 1
        return
    r = _as_dict(table, row)
    if _check(table, r, vault) is not None:
        out.damaged[table] = out.damaged.get(table, 0) + 1
        return
    into[row.rowid] = r

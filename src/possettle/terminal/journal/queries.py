"""Typed reads and writes of the journal's rows; writes run inside :meth:`Journal.write`."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from possettle.crypto.keys import Key
from possettle.crypto.vault import Vault
from possettle.terminal.journal.events import Detail, Event, EventKind, parse_event
from possettle.terminal.journal.records import (
    ReversalRow,
    ReversalState,
    SettlementRow,
    SettleStep,
    TxnKind,
    TxnRow,
    TxnState,
)


def _pan_aad(batch: int, stan: int) -> bytes:
    return f"txn:{batch:06d}:{stan:06d}".encode()


# ------------------------------------------------------------------------- counters


def current_batch(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'batch'").fetchone()
    return 1 if row is None else int(row[0])


def set_batch(conn: sqlite3.Connection, batch: int) -> None:
    _set(conn, "batch", str(batch))


def next_stan(conn: sqlite3.Connection) -> int:
    """The next trace number (000001–999999, then wraps), persisted before it is used."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'stan'").fetchone()
    stan = (0 if row is None else int(row[0])) % 999999 + 1
    _set(conn, "stan", str(stan))
    return stan


def _set(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


# --------------------------------------------------------------------------- events


def insert_event(conn: sqlite3.Connection, at: str, detail: Detail) -> None:
    kind, code, data = detail.row()
    conn.execute(
        "INSERT INTO events (at, kind, code, detail) VALUES (?, ?, ?, ?)",
        (at, kind.value, code, data),
    )


def events(
    conn: sqlite3.Connection, kind: EventKind | None = None, limit: int = 100
) -> list[Event]:
    """The latest ``limit`` events, newest first, of ``kind`` (a written kind) or all."""
    sql = "SELECT id, at, kind, code, detail FROM events"
    args: tuple[Any, ...] = ()
    if kind is not None:
        sql += " WHERE kind = ?"
        args = (kind.value,)
    rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
    return [parse_event(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]


# ----------------------------------------------------------------------------- keys


def store_key(conn: sqlite3.Connection, vault: Vault, name: str, key: Key) -> None:
    _set(conn, f"key.{name}", vault.seal_key(key, f"key:{name}".encode()).hex())


def load_key(conn: sqlite3.Connection, vault: Vault, name: str) -> Key | None:
    blob = _get(conn, f"key.{name}")
    return None if blob is None else vault.open_key(bytes.fromhex(blob), f"key:{name}".encode())


def drop_key(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM meta WHERE key = ?", (f"key.{name}",))


# ------------------------------------------------------------------------- transactions


@dataclass(frozen=True, slots=True)
class NewTxn:
    batch: int
    stan: int
    kind: TxnKind
    state: TxnState
    amount: int
    currency: str
    pan: str
    pan_masked: str
    card_org: str
    domestic: bool
    entry_mode: str
    operator: str
    local_time: str
    local_date: str
    created_at: str
    auth_code: str = ""
    rrn: str = ""
    orig_batch: int | None = None
    orig_stan: int | None = None
    orig_date: str | None = None


def insert_txn(conn: sqlite3.Connection, vault: Vault, t: NewTxn) -> int:
    cur = conn.execute(
        "INSERT INTO txns (batch, stan, kind, state, amount, currency, pan_masked, pan_sealed,"
        " card_org, domestic, entry_mode, operator, local_time, local_date, created_at,"
        " auth_code, rrn, orig_batch, orig_stan, orig_date)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            t.batch,
            t.stan,
            t.kind.value,
            t.state.value,
            t.amount,
            t.currency,
            t.pan_masked,
            vault.seal(t.pan.encode(), _pan_aad(t.batch, t.stan)),
            t.card_org,
            int(t.domestic),
            t.entry_mode,
            t.operator,
            t.local_time,
            t.local_date,
            t.created_at,
            t.auth_code,
            t.rrn,
            t.orig_batch,
            t.orig_stan,
            t.orig_date,
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def set_outcome(
    conn: sqlite3.Connection,
    txn_id: int,
    state: TxnState,
    *,
    code: str = "",
    rrn: str | None = None,
    auth_code: str | None = None,
) -> None:
    conn.execute(
        "UPDATE txns SET state = ?, response_code = ?, rrn = COALESCE(?, rrn),"
        " auth_code = COALESCE(?, auth_code) WHERE id = ?",
        (state.value, code, rrn, auth_code, txn_id),
    )


def mark_voided(conn: sqlite3.Connection, txn_id: int) -> None:
    conn.execute("UPDATE txns SET voided = 1 WHERE id = ?", (txn_id,))


def _txn(row: sqlite3.Row) -> TxnRow:
    return TxnRow(
        id=row["id"],
        batch=row["batch"],
        stan=row["stan"],
        kind=TxnKind(row["kind"]),
        state=TxnState(row["state"]),
        amount=row["amount"],
        currency=row["currency"],
        pan_masked=row["pan_masked"],
        card_org=row["card_org"],
        domestic=bool(row["domestic"]),
        entry_mode=row["entry_mode"],
        operator=row["operator"],
        local_time=row["local_time"],
        local_date=row["local_date"],
        created_at=row["created_at"],
        rrn=row["rrn"],
        auth_code=row["auth_code"],
        response_code=row["response_code"],
        orig_batch=row["orig_batch"],
        orig_stan=row["orig_stan"],
        orig_date=row["orig_date"],
        voided=bool(row["voided"]),
        uploaded=bool(row["uploaded"]),
    )


def get_txn(conn: sqlite3.Connection, txn_id: int) -> TxnRow:
    return _txn(conn.execute("SELECT * FROM txns WHERE id = ?", (txn_id,)).fetchone())


def find_txn(conn: sqlite3.Connection, batch: int, stan: int) -> TxnRow | None:
    row = conn.execute("SELECT * FROM txns WHERE batch = ? AND stan = ?", (batch, stan)).fetchone()
    return None if row is None else _txn(row)


def batch_txns(conn: sqlite3.Connection, batch: int) -> list[TxnRow]:
    rows = conn.execute("SELECT * FROM txns WHERE batch = ? ORDER BY id", (batch,)).fetchall()
    return [_txn(r) for r in rows]


def refunds_of(conn: sqlite3.Connection, batch: int, stan: int) -> list[TxnRow]:
    """The refunds this journal holds against the original ``batch`` / ``stan``."""
    rows = conn.execute(
        "SELECT * FROM txns WHERE kind = 'refund' AND orig_batch = ? AND orig_stan = ? ORDER BY id",
        (batch, stan),
    ).fetchall()
    return [_txn(r) for r in rows]


def txns_in_state(conn: sqlite3.Connection, *states: TxnState) -> list[TxnRow]:
    marks = ",".join("?" * len(states))
    rows = conn.execute(
        f"SELECT * FROM txns WHERE state IN ({marks}) ORDER BY id",  # noqa: S608 (placeholders)
        [s.value for s in states],
    ).fetchall()
    return [_txn(r) for r in rows]


def open_pan(conn: sqlite3.Connection, vault: Vault, txn: TxnRow) -> str:
    blob = conn.execute("SELECT pan_sealed FROM txns WHERE id = ?", (txn.id,)).fetchone()[0]
    return vault.open(bytes(blob), _pan_aad(txn.batch, txn.stan)).decode()


def mark_uploaded(conn: sqlite3.Connection, ids: list[int]) -> None:
    conn.executemany("UPDATE txns SET uploaded = 1 WHERE id = ?", [(i,) for i in ids])


# ------------------------------------------------------------------------------ reversals


def add_reversal(conn: sqlite3.Connection, txn_id: int, reason: str, at: str) -> None:
    conn.execute(
        "INSERT INTO reversals (txn_id, reason, state, created_at) VALUES (?, ?, 'pending', ?)"
        " ON CONFLICT (txn_id) DO UPDATE SET reason = excluded.reason",
        (txn_id, reason, at),
    )


def drop_reversal(conn: sqlite3.Connection, txn_id: int) -> None:
    """A valid reply arrived: the reversal recorded before sending is not needed."""
    conn.execute("DELETE FROM reversals WHERE txn_id = ? AND state = 'pending'", (txn_id,))


def pending_reversals(conn: sqlite3.Connection) -> list[ReversalRow]:
    rows = conn.execute(
        "SELECT r.*, t.batch, t.stan FROM reversals r JOIN txns t ON t.id = r.txn_id"
        " WHERE r.state = 'pending' ORDER BY r.id"
    ).fetchall()
    return [
        ReversalRow(
            id=r["id"],
            txn_id=r["txn_id"],
            batch=r["batch"],
            stan=r["stan"],
            reason=r["reason"],
            state=ReversalState(r["state"]),
            attempts=r["attempts"],
            created_at=r["created_at"],
            last_code=r["last_code"],
        )
        for r in rows
    ]


def reversal_attempt(conn: sqlite3.Connection, rev_id: int, code: str) -> None:
    conn.execute(
        "UPDATE reversals SET attempts = attempts + 1, last_code = ? WHERE id = ?", (code, rev_id)
    )


def reversal_done(conn: sqlite3.Connection, rev_id: int, code: str, at: str) -> None:
    conn.execute(
        "UPDATE reversals SET state = 'done', attempts = attempts + 1, last_code = ?,"
        " done_at = ? WHERE id = ?",
        (code, at, rev_id),
    )


# ---------------------------------------------------------------------------- settlements


def get_settlement(conn: sqlite3.Connection, batch: int) -> SettlementRow | None:
    r = conn.execute("SELECT * FROM settlements WHERE batch = ?", (batch,)).fetchone()
    if r is None:
        return None
    return SettlementRow(
        batch=r["batch"],
        step=SettleStep(r["step"]),
        stan=r["stan"],
        terminal_totals=r["terminal_totals"],
        host_totals=r["host_totals"],
        result=r["result"],
        upload_stan=r["upload_stan"],
        upload_ids=r["upload_ids"],
        uploaded=r["uploaded"],
        end_stan=r["end_stan"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
    )


def unfinished_settlement(conn: sqlite3.Connection) -> SettlementRow | None:
    r = conn.execute("SELECT batch FROM settlements WHERE step != 'done' ORDER BY batch").fetchone()
    return None if r is None else get_settlement(conn, int(r[0]))


#: a settlement in these steps has had no 0500 accepted: the host holds nothing of it
BEFORE_HOST_TOOK_IT = (SettleStep.SIGN_ON, SettleStep.REVERSAL, SettleStep.OFFLINE_UPLOAD,
                       SettleStep.SETTLE)  # fmt: skip


def abandon_settlement(conn: sqlite3.Connection, batch: int) -> bool:
    """Forget a settlement of ``batch`` the host never took (see :data:`BEFORE_HOST_TOOK_IT`);
    True if one was forgotten."""
    marks = ", ".join("?" for _ in BEFORE_HOST_TOOK_IT)
    done = conn.execute(
        f"DELETE FROM settlements WHERE batch = ? AND step IN ({marks})",  # noqa: S608 - marks
        (batch, *(s.value for s in BEFORE_HOST_TOOK_IT)),
    )
    return done.rowcount > 0


def last_settlement(conn: sqlite3.Connection) -> SettlementRow | None:
    r = conn.execute("SELECT batch FROM settlements ORDER BY batch DESC LIMIT 1").fetchone()
    return None if r is None else get_settlement(conn, int(r[0]))


def begin_settlement(conn: sqlite3.Connection, batch: int, at: str) -> None:
    conn.execute(
        "INSERT INTO settlements (batch, step, started_at) VALUES (?, 'sign_on', ?)"
        " ON CONFLICT (batch) DO NOTHING",
        (batch, at),
    )


def update_settlement(conn: sqlite3.Connection, batch: int, **values: Any) -> None:
    allowed = {
        "step",
        "stan",
        "terminal_totals",
        "host_totals",
        "result",
        "upload_stan",
        "upload_ids",
        "uploaded",
        "end_stan",
        "finished_at",
    }
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not settlement columns: {sorted(unknown)}")
    cols = ", ".join(f"{k} = ?" for k in values)
    args = [v.value if hasattr(v, "value") else v for v in values.values()]
    conn.execute(f"UPDATE settlements SET {cols} WHERE batch = ?", (*args, batch))  # noqa: S608


def slips_waiting(conn: sqlite3.Connection) -> int:
    """Receipts and settlement slips queued and not yet printed."""
    row = conn.execute("SELECT count(*) FROM print_queue WHERE printed_at = ''").fetchone()
    return int(row[0])


def all_txns(conn: sqlite3.Connection) -> list[TxnRow]:
    return [_txn(r) for r in conn.execute("SELECT * FROM txns ORDER BY id").fetchall()]


def upload_candidates(conn: sqlite3.Connection, batch: int, limit: int) -> list[TxnRow]:
    """The next counted, not yet uploaded transactions of ``batch`` (oldest first)."""
    rows = conn.execute(
        "SELECT * FROM txns WHERE batch = ? AND uploaded = 0 AND voided = 0 AND kind != 'void'"
        " AND state IN ('approved', 'offline_pending') ORDER BY id LIMIT ?",
        (batch, limit),
    ).fetchall()
    return [_txn(r) for r in rows]


def txns_by_ids(conn: sqlite3.Connection, ids: list[int]) -> list[TxnRow]:
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT * FROM txns WHERE id IN ({marks}) ORDER BY id",  # noqa: S608 (placeholders)
        ids,
    ).fetchall()
    return [_txn(r) for r in rows]


def open_pans(conn: sqlite3.Connection, vault: Vault, txns: list[TxnRow]) -> dict[int, str]:
    """The clear PANs of ``txns`` (for a 0320), by row id, in one query."""
    marks = ",".join("?" * len(txns))
    blobs = dict(
        conn.execute(
            f"SELECT id, pan_sealed FROM txns WHERE id IN ({marks})",  # noqa: S608
            [t.id for t in txns],
        ).fetchall()
    )
    return {t.id: vault.open(bytes(blobs[t.id]), _pan_aad(t.batch, t.stan)).decode() for t in txns}

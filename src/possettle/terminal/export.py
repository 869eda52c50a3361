"""``terminal export``: the journal as JSON lines for service, card data masked, no secrets.

One JSON object a line (UTF-8), each with a ``record`` naming what it is, in this order::

    header      format "possettle-terminal-export", version 1, source ("journal", or
                "rescue" when read from a damaged file), tid, mid, exported_at, schema_version
    config      terminal.json without any setting whose name says it is a secret
    meta        one per journal meta entry, the sealed keys (key.*) left out
    txn         one per transaction: every column but the sealed card number (the masked
                one, first 6 / last 4, is there), plus ``unsettled`` (true while no
                settlement closed its batch); amounts in fen
    reversal · settlement · event · print     one per row (events' and prints' JSON parsed)
    operator    id, name, role, lock-out state: never the password hash
    summary     rows per record kind; the unsettled transactions (count and fen per kind);
                for a rescue, what could not be read: lost transaction ids (a gap in the
                ids), approved transactions known only from their receipt (``lost_receipts``:
                batch, voucher, kind, fen, card's last 4 — the rows after the last one read
                leave no gap, their receipts still tell), damaged rows, unreadable pages

The file is written beside its final name and renamed into place, so a reader never sees a
half-written export.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from possettle.clock import Clock
from possettle.terminal.config import CONFIG_FILE, JOURNAL_FILE
from possettle.terminal.errors import JournalCorrupt, JournalError
from possettle.terminal.history import Totals
from possettle.terminal.journal.records import TxnRow
from possettle.terminal.journal.schema import VERSION
from possettle.terminal.rescue.rows import TABLES, Rescued
from possettle.terminal.status_words import yuan

FORMAT = "possettle-terminal-export"
FORMAT_VERSION = 1
#: a setting whose name holds one of these is left out of the export, at any depth
SECRET_WORDS = ("key", "password", "secret", "tmk", "pin", "token")
_RECORD = {"meta": "meta", "txns": "txn", "reversals": "reversal", "settlements": "settlement",
           "operators": "operator", "events": "event", "print_queue": "print"}  # fmt: skip
_LEFT_OUT = {"txns": ("pan_sealed",), "operators": ("password_hash",)}


def without_secrets(data: Any) -> Any:
    """``data`` with every mapping key naming a secret removed (recursively).

    >>> without_secrets({"tid": "T", "policy": {"supervisor_pin": "1"}, "api_token": "x"})
    {'tid': 'T', 'policy': {}}
    """
    if isinstance(data, dict):
        return {
            k: without_secrets(v)
            for k, v in data.items()
            if not any(w in str(k).lower() for w in SECRET_WORDS)
        }
    if isinstance(data, list):
        return [without_secrets(v) for v in data]
    return data


def _config(directory: Path) -> dict[str, Any]:
    """terminal.json as it is on disk (a damaged terminal may not validate), secrets out."""
    try:
        data = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"unreadable": str(exc)}
    return without_secrets(data) if isinstance(data, dict) else {"unreadable": "not an object"}


def read_tables(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of every journal table, read through SQLite (read-only)."""
    if not path.exists():
        raise JournalError(f"no journal at {path}")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open {path}: {exc}") from exc
    db.row_factory = sqlite3.Row
    try:
        present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {
            t: [dict(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY rowid")]  # noqa: S608
            for t in TABLES
            if t in present
        }
    except sqlite3.DatabaseError as exc:
        raise JournalCorrupt(
            f"journal {path} is corrupt ({exc}): `possettle terminal export --rescue` "
            "exports what can still be read"
        ) from exc
    finally:
        db.close()


def _lines(
    tables: dict[str, list[dict[str, Any]]], unsettled: set[int]
) -> Iterator[dict[str, Any]]:
    for table in TABLES:
        for row in tables.get(table, []):
            if table == "meta" and str(row["key"]).startswith("key."):
                continue
            r = {k: v for k, v in row.items() if k not in _LEFT_OUT.get(table, ())}
            for name in ("detail", "doc"):
                if table in ("events", "print_queue") and isinstance(r.get(name), str):
                    with contextlib.suppress(ValueError):
                        r[name] = json.loads(r[name])
            if table == "txns":
                r["unsettled"] = r["id"] in unsettled
            yield {"record": _RECORD[table], **r}


def write_export(
    directory: Path,
    out: Path,
    clock: Clock,
    *,
    tables: dict[str, list[dict[str, Any]]],
    unsettled: list[TxnRow],
    rescue: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the export of ``tables`` to ``out``; returns its summary record."""
    config = _config(directory)
    counts: dict[str, int] = {}
    header = {
        "record": "header",
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "source": "rescue" if rescue is not None else "journal",
        "tid": config.get("tid"),
        "mid": config.get("mid"),
        "exported_at": clock.now().isoformat(timespec="seconds"),
        "schema_version": VERSION,
    }
    summary: dict[str, Any] = {
        "record": "summary",
        "counts": counts,
        "unsettled": {"transactions": len(unsettled), **Totals.of(unsettled).as_dict()},
        "rescue": rescue,
    }
    tmp = out.with_name(out.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for first in (header, {"record": "config", "config": config}):
                f.write(json.dumps(first, ensure_ascii=False, default=_plain) + "\n")
            for line in _lines(tables, {t.id for t in unsettled}):
                record = str(line["record"])
                counts[record] = counts.get(record, 0) + 1
                f.write(json.dumps(line, ensure_ascii=False, default=_plain) + "\n")
            f.write(json.dumps(summary, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise JournalError(f"cannot write the export to {out}: {exc}") from exc
    return summary


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def export_journal(directory: Path, out: Path, clock: Clock) -> dict[str, Any]:
    """Export a readable journal (a corrupt one raises :class:`JournalCorrupt`)."""
    tables = read_tables(directory / JOURNAL_FILE)
    rescued = Rescued(rows={t: dict(enumerate(rows)) for t, rows in tables.items()})
    return write_export(directory, out, clock, tables=tables, unsettled=rescued.unsettled())


def rescue_summary(found: Rescued) -> dict[str, Any]:
    """What a rescue could and could not read, for the export and the screen."""
    lost = found.missing_txn_ids()
    receipts = found.lost_receipts()
    return {
        "lost_receipts": receipts,
        "lost_receipts_amount": sum(int(r["amount"] or 0) for r in receipts),
        "transactions_read": len(found.rows.get("txns", {})),
        "transactions_lost": len(lost),
        "lost_ids": lost,
        "lost_maybe_unsettled": len(found.missing_unsettled()),
        "damaged_rows": dict(found.damaged),
        "conflicting_copies": dict(found.conflicts),
        "unreadable_pages": found.bad_pages,
        "unreadable_cells": found.bad_cells,
        "rows_of_unknown_table": found.unplaced,
        "wal_frames": found.wal_frames,
        "table_roots_read": found.roots_known,
        "open_batch": found.open_batch(),
    }


def export_rescue(directory: Path, out: Path, clock: Clock, found: Rescued) -> dict[str, Any]:
    """Export what :func:`possettle.terminal.rescue.rows.rescue` read of a damaged journal."""
    tables = {t: found.table(t) for t in TABLES}
    return write_export(
        directory,
        out,
        clock,
        tables=tables,
        unsettled=found.unsettled(),
        rescue=rescue_summary(found),
    )


def summary_lines(out_file: Path, summary: dict[str, Any]) -> list[tuple[str, str]]:
    """An export's summary as ``(English, Chinese)`` lines, amounts in yuan."""
    u = summary["unsettled"]
    total = u["sales"]["amount"] + u["offline"]["amount"]
    lines = [
        (
            f"Exported to {out_file}: "
            + ", ".join(f"{n} {k}" for k, n in sorted(summary["counts"].items())),
            f"已导出到 {out_file}",
        ),
        (
            f"Unsettled: {u['transactions']} transactions, sales and offline sales "
            f"{yuan(total)}, refunds {yuan(u['refunds']['amount'])}, net {yuan(u['net'])}",
            f"未结算：{u['transactions']} 笔交易，消费（含离线）{yuan(total)}，"
            f"退货 {yuan(u['refunds']['amount'])}，净额 {yuan(u['net'])}",
        ),
    ]
    r = summary.get("rescue")
    if r is not None:
        damaged = sum(r["damaged_rows"].values()) + sum(r["conflicting_copies"].values())
        lines.append(
            (
                f"Could not be read: {r['transactions_lost']} transactions "
                f"({r['lost_maybe_unsettled']} of them may be unsettled), {damaged} damaged "
                f"rows, {r['unreadable_pages']} unreadable pages",
                f"无法读出：{r['transactions_lost']} 笔交易（其中 {r['lost_maybe_unsettled']} "
                f"笔可能未结算），{damaged} 条损坏记录，{r['unreadable_pages']} 个损坏页",
            )
        )
        if r["lost_receipts"]:
            n, amount = len(r["lost_receipts"]), yuan(r["lost_receipts_amount"])
            lines.append(
                (
                    f"Known only from their receipts (unsettled, not in the fresh journal): "
                    f"{n} approved transactions, {amount}; the host has them",
                    f"仅能从签购单得知（未结算，无法重建）：{n} 笔成功交易，{amount}；主机有记录",
                )
            )
    return lines

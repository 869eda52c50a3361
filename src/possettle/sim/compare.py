"""Count what was lost or counted twice: every terminal journal against the host ledger.

Nothing here is assumed: the terminal's approved transactions (its journal, read-only) and
the host's live ledger entries (not reversed) are matched on TID + batch + STAN + kind.

* **lost**: approved at the terminal, yet the host has neither a live ledger entry nor an
  uploaded record of it (an uploaded record the host lacked is a reconciliation exception,
  known and kept, not lost);
* **duplicated**, a live ledger entry that is money counted twice, either

  - held by no terminal as approved: money the host counts that the merchant's terminal
    does not (a sale booked again under another STAN shows here), or
  - carrying the RRN of an earlier live entry: the host hands out each RRN once
    (:class:`possettle.host.context.RrnAllocator`), one per approval, so a second live
    entry with it is one approval booked twice — even when a terminal holds both keys as
    approved (the host answered a second sale with the first one's approval). The ledger's
    unique key (TID, batch, STAN, kind) cannot forbid this; the RRN index is not unique.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from possettle.ledger.schema import ledger_entries, recon_exceptions, upload_items
from possettle.terminal.config import JOURNAL_FILE, TerminalConfig
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.records import TxnKind, TxnState

_HOST_KIND = {
    TxnKind.SALE: "sale",
    TxnKind.OFFLINE_SALE: "offline",
    TxnKind.VOID: "void",
    TxnKind.REFUND: "refund",
}
Key = tuple[str, int, int, str]


@dataclass
class Comparison:
    terminal_approved: int = 0
    host_live: int = 0
    lost: list[Key] = field(default_factory=list)
    duplicated: list[Key] = field(default_factory=list)
    exceptions: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "terminal_approved": self.terminal_approved,
            "host_live": self.host_live,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "recon_exceptions": self.exceptions,
            "lost_keys": [list(k) for k in self.lost],
            "duplicated_keys": [list(k) for k in self.duplicated],
        }


def terminal_keys(directory: Path) -> set[Key]:
    tid = TerminalConfig.load(directory).tid
    uri = f"file:{directory / JOURNAL_FILE}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    conn.row_factory = sqlite3.Row
    try:
        rows = q.all_txns(conn)
    finally:
        conn.close()
    return {
        (tid, r.batch, r.stan, _HOST_KIND[r.kind])
        for r in rows
        if r.state in (TxnState.APPROVED, TxnState.OFFLINE_PENDING)
    }


def compare(engine: sa.Engine, terminals: list[Path]) -> Comparison:
    ours: set[Key] = set()
    for directory in terminals:
        ours |= terminal_keys(directory)
    tids = sorted({k[0] for k in ours} | {TerminalConfig.load(d).tid for d in terminals})
    le, ui = ledger_entries.c, upload_items.c
    with engine.connect() as conn:
        live = conn.execute(
            sa.select(le.tid, le.batch, le.stan, le.kind, le.rrn)
            .where(le.tid.in_(tids), le.kind != "reversal", le.reversed.is_(False))
            .order_by(le.id)
        ).all()
        uploaded = conn.execute(sa.select(ui.tid, ui.batch, ui.stan).where(ui.tid.in_(tids))).all()
        exceptions = conn.execute(
            sa.select(sa.func.count())
            .select_from(recon_exceptions)
            .where(recon_exceptions.c.tid.in_(tids))
        ).scalar_one()
    host: set[Key] = set()
    booked_rrns: set[str] = set()
    rebooked: set[Key] = set()
    for r in live:  # in id order: the first live entry with an RRN is its booking
        key = (r.tid, int(r.batch), int(r.stan), str(r.kind))
        host.add(key)
        if r.rrn in booked_rrns:
            rebooked.add(key)
        booked_rrns.add(r.rrn)
    upload_keys = {(r.tid, int(r.batch), int(r.stan)) for r in uploaded}
    result = Comparison(terminal_approved=len(ours), host_live=len(host), exceptions=exceptions)
    result.lost = sorted(k for k in ours if k not in host and k[:3] not in upload_keys)
    result.duplicated = sorted({k for k in host if k not in ours} | rebooked)
    return result

"""Ledger entries: every approval, void, refund and reversal is one row in minor units.

Each entry carries the signed deltas it adds to its batch totals, so totals are a SUM:

==========  =====================  =====================
kind        debit (amount, count)  credit (amount, count)
==========  =====================  =====================
sale        +amount, +1            0
offline     +amount, +1            0
void        −amount, −1            0
refund      0                      +amount, +1
reversal    the negation of the entry it reverses
==========  =====================  =====================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from possettle.ledger.kinds import EntryKind
from possettle.ledger.raw import RawStatement
from possettle.ledger.schema import ledger_entries

_DELTAS: dict[EntryKind, tuple[int, int, int, int]] = {
    EntryKind.SALE: (1, 1, 0, 0),
    EntryKind.OFFLINE: (1, 1, 0, 0),
    EntryKind.VOID: (-1, -1, 0, 0),
    EntryKind.REFUND: (0, 0, 1, 1),
}


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    tid: str
    mid: str
    batch: int
    stan: str
    kind: EntryKind
    orig_entry_id: int | None
    amount: int
    domestic: bool
    rrn: str
    auth_code: str | None
    card_org: str
    pan_hash: str
    voided: bool
    reversed: bool
    refunded_amount: int
    deltas: tuple[int, int, int, int]

    @property
    def live(self) -> bool:
        """Counts in its batch: not reversed, and (for a sale) not voided."""
        return not self.reversed and not self.voided


@dataclass(frozen=True, slots=True)
class NewEntry:
    tid: str
    mid: str
    batch: int
    stan: str
    kind: EntryKind
    amount: int
    currency: str
    domestic: bool
    pan_hash: str
    pan_masked: str
    rrn: str
    auth_code: str | None
    card_org: str
    host_date: date
    created_at: datetime
    #: the business day it clears in (日切): the host's BusinessDay of ``created_at``
    clearing_date: date
    orig_entry_id: int | None = None


def _entry(row: Row[tuple[object, ...]]) -> Entry:
    m = row._mapping
    return Entry(
        id=int(m["id"]),
        tid=str(m["tid"]),
        mid=str(m["mid"]),
        batch=int(m["batch"]),
        stan=str(m["stan"]),
        kind=EntryKind(m["kind"]),
        orig_entry_id=None if m["orig_entry_id"] is None else int(m["orig_entry_id"]),
        amount=int(m["amount"]),
        domestic=bool(m["domestic"]),
        rrn=str(m["rrn"]),
        auth_code=None if m["auth_code"] is None else str(m["auth_code"]),
        card_org=str(m["card_org"]),
        pan_hash=str(m["pan_hash"]),
        voided=bool(m["voided"]),
        reversed=bool(m["reversed"]),
        refunded_amount=int(m["refunded_amount"]),
        deltas=(
            int(m["debit_amount"]),
            int(m["debit_count"]),
            int(m["credit_amount"]),
            int(m["credit_count"]),
        ),
    )


_LE = ledger_entries.c
_KINDS: sa.BindParameter[list[str]] = sa.bindparam("kinds", expanding=True)
_FIND_ENTRY = sa.select(ledger_entries).where(
    _LE.tid == sa.bindparam("tid"),
    _LE.batch == sa.bindparam("batch"),
    _LE.stan == sa.bindparam("stan"),
    _LE.kind.in_(_KINDS),
)
_FIND_BY_RRN = sa.select(ledger_entries).where(_LE.rrn == sa.bindparam("rrn"), _LE.kind.in_(_KINDS))
_POSTED = (
    *(
        "tid", "mid", "batch", "stan", "kind", "orig_entry_id", "amount", "currency", "domestic",
        "pan_hash", "pan_masked", "rrn", "auth_code", "card_org", "host_date", "created_at",
        "clearing_date",
    ),
    *("debit_amount", "debit_count", "credit_amount", "credit_count"),
)  # fmt: skip
_INSERT = RawStatement(
    sa.insert(ledger_entries)
    .values({c: sa.bindparam(c) for c in _POSTED})
    .returning(ledger_entries.c.id)
)


def find_entry(
    conn: Connection, tid: str, batch: int, stan: str, kinds: tuple[EntryKind, ...]
) -> Entry | None:
    params = {"tid": tid, "batch": batch, "stan": stan, "kinds": [k.value for k in kinds]}
    row = conn.execute(_FIND_ENTRY, params).first()
    return None if row is None else _entry(row)


_FIND_ENTRIES = sa.select(ledger_entries).where(
    _LE.tid == sa.bindparam("tid"),
    _LE.batch == sa.bindparam("batch"),
    _LE.stan.in_(sa.bindparam("stans", expanding=True)),
    _LE.kind.in_(_KINDS),
)


def find_entries(
    conn: Connection, tid: str, batch: int, stans: list[str], kinds: tuple[EntryKind, ...]
) -> dict[str, Entry]:
    """The entries of ``kinds`` for several STANs of one batch, by STAN, in one query."""
    params = {"tid": tid, "batch": batch, "stans": stans, "kinds": [k.value for k in kinds]}
    return {str(r.stan): _entry(r) for r in conn.execute(_FIND_ENTRIES, params)}


def find_by_rrn(conn: Connection, rrn: str, kinds: tuple[EntryKind, ...]) -> Entry | None:
    row = conn.execute(_FIND_BY_RRN, {"rrn": rrn, "kinds": [k.value for k in kinds]}).first()
    return None if row is None else _entry(row)


def live_entries(conn: Connection, tid: str, batch: int) -> list[Entry]:
    """Entries of a batch the terminal should hold: sales, offline sales and refunds in force."""
    rows = conn.execute(
        sa.select(ledger_entries).where(
            ledger_entries.c.tid == tid,
            ledger_entries.c.batch == batch,
            ledger_entries.c.kind.in_(
                [EntryKind.SALE.value, EntryKind.OFFLINE.value, EntryKind.REFUND.value]
            ),
            ledger_entries.c.reversed.is_(False),
            ledger_entries.c.voided.is_(False),
        )
    ).all()
    return [_entry(r) for r in rows]


def post(conn: Connection, new: NewEntry) -> int:
    """Write one entry with the deltas of its kind; returns its id."""
    if new.kind is EntryKind.REVERSAL:
        raise ValueError("use post_reversal for reversals")
    da, dc, ca, cc = _DELTAS[new.kind]
    values = _values(new)
    values.update(
        debit_amount=da * new.amount,
        debit_count=dc,
        credit_amount=ca * new.amount,
        credit_count=cc,
    )
    entry_id = int(_INSERT.scalar(conn, values))
    if new.kind is EntryKind.VOID and new.orig_entry_id is not None:
        _flag(conn, new.orig_entry_id, voided=True)
    elif new.kind is EntryKind.REFUND and new.orig_entry_id is not None:
        conn.execute(
            sa.update(ledger_entries)
            .where(ledger_entries.c.id == new.orig_entry_id)
            .values(refunded_amount=ledger_entries.c.refunded_amount + new.amount)
        )
    return entry_id


def post_reversal(conn: Connection, original: Entry, new: NewEntry) -> int:
    """Reverse ``original`` exactly once: negated deltas, and undo what it did to its own."""
    da, dc, ca, cc = original.deltas
    values = _values(new)
    values.update(debit_amount=-da, debit_count=-dc, credit_amount=-ca, credit_count=-cc)
    entry_id = int(_INSERT.scalar(conn, values))
    _flag(conn, original.id, reversed=True)
    if original.orig_entry_id is not None:
        if original.kind is EntryKind.VOID:
            _flag(conn, original.orig_entry_id, voided=False)
        elif original.kind is EntryKind.REFUND:
            conn.execute(
                sa.update(ledger_entries)
                .where(ledger_entries.c.id == original.orig_entry_id)
                .values(refunded_amount=ledger_entries.c.refunded_amount - original.amount)
            )
    return entry_id


def _flag(conn: Connection, entry_id: int, **values: bool) -> None:
    conn.execute(sa.update(ledger_entries).where(ledger_entries.c.id == entry_id).values(**values))


def _values(new: NewEntry) -> dict[str, object]:
    return {
        "tid": new.tid,
        "mid": new.mid,
        "batch": new.batch,
        "stan": new.stan,
        "kind": new.kind.value,
        "orig_entry_id": new.orig_entry_id,
        "amount": new.amount,
        "currency": new.currency,
        "domestic": new.domestic,
        "pan_hash": new.pan_hash,
        "pan_masked": new.pan_masked,
        "rrn": new.rrn,
        "auth_code": new.auth_code,
        "card_org": new.card_org,
        "host_date": new.host_date,
        "created_at": new.created_at,
        "clearing_date": new.clearing_date,
    }

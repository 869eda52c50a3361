"""The print queue: receipts and slips are journaled first, printed after.

A printer that is out of paper or offline never undoes a settlement or a sale: the document
stays in the queue (with the error) and ``possettle terminal reprint`` prints it later.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from possettle.cards import CardOrg
from possettle.iso8583.fields import SettlementTotals
from possettle.money import Money
from possettle.terminal.config import MERCHANT_ADDRESS_META, MERCHANT_NAME_META
from possettle.terminal.errors import PrinterError
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import PrintFailed
from possettle.terminal.journal.records import SettlementRow, TxnKind, TxnRow
from possettle.terminal.journal.store import Journal
from possettle.terminal.printer.documents import (
    Copy,
    Receipt,
    ReceiptKind,
    SettlementSlip,
    SlipOutcome,
    document_from_dict,
)

if TYPE_CHECKING:
    from possettle.terminal.printer.device import Printer

_RECEIPT_KIND = {
    TxnKind.SALE: ReceiptKind.SALE,
    TxnKind.VOID: ReceiptKind.VOID,
    TxnKind.REFUND: ReceiptKind.REFUND,
    TxnKind.OFFLINE_SALE: ReceiptKind.OFFLINE_SALE,
}


class Printing:
    def __init__(
        self,
        journal: Journal,
        printer: Printer,
        *,
        merchant_name: str,
        mid: str,
        tid: str,
        tz: tzinfo = UTC,
    ) -> None:
        self.journal = journal
        self.printer = printer
        self.merchant_name, self.mid, self.tid = merchant_name, mid, tid
        self.tz = tz

    def _when(self) -> datetime:
        # Paper shows its time as it is written: the shop's wall clock, not the clock's UTC.
        return self.journal.clock.now().astimezone(self.tz)

    def queue_slip(
        self, conn: sqlite3.Connection, row: SettlementRow, operator: str, mine: SettlementTotals
    ) -> None:
        """Queue the settlement slip of ``row`` (inside the caller's journal write).

        ``mine`` are the journal's own totals (full counts: field 48 carries them mod 1000).
        """
        if row.host_totals:
            host = SettlementTotals.parse(row.host_totals)
            mine = SettlementTotals(
                mine.domestic.with_result(host.domestic.result),
                mine.foreign.with_result(host.foreign.result),
            )
        name, address = self._merchant(conn)
        slip = SettlementSlip(
            merchant_name=name,
            merchant_address=address,
            mid=self.mid,
            tid=self.tid,
            operator=operator,
            batch=row.batch,
            when=self._when(),
            totals=mine,
            outcome=SlipOutcome(row.result or SlipOutcome.ALREADY_SETTLED.value),
        )
        self._insert(conn, "slip", slip.to_dict())

    def queue_receipt(self, conn: sqlite3.Connection, txn: TxnRow) -> None:
        name, address = self._merchant(conn)
        receipt = Receipt(
            kind=_RECEIPT_KIND[txn.kind],
            copy=Copy.MERCHANT,
            merchant_name=name,
            merchant_address=address,
            mid=self.mid,
            tid=self.tid,
            operator=txn.operator,
            batch=txn.batch,
            stan=txn.stan,
            when=self._when(),
            card_org=CardOrg(txn.card_org),
            pan_last4=txn.pan_masked,
            amount=Money(txn.amount),
            rrn=txn.rrn or None,
            auth_code=txn.auth_code or None,
            original_stan=txn.orig_stan if txn.kind is TxnKind.VOID else None,
        )
        self._insert(conn, "receipt", receipt.to_dict())

    def queue_copy(self, conn: sqlite3.Connection, doc: Receipt | SettlementSlip) -> None:
        """Queue ``doc`` as it is (a reprint, say), inside the caller's journal write."""
        self._insert(conn, "receipt" if isinstance(doc, Receipt) else "slip", doc.to_dict())

    def _merchant(self, conn: sqlite3.Connection) -> tuple[str, str | None]:
        """The name and address the host sent at the last sign-on, else the configured name."""
        name = self.journal.get_meta(MERCHANT_NAME_META, conn)
        address = self.journal.get_meta(MERCHANT_ADDRESS_META, conn)
        return name or self.merchant_name, address or None

    def _insert(self, conn: sqlite3.Connection, kind: str, doc: dict[str, object]) -> None:
        conn.execute(
            "INSERT INTO print_queue (kind, doc, created_at) VALUES (?, ?, ?)",
            (kind, json.dumps(doc, ensure_ascii=False, sort_keys=True), self.journal.now()),
        )

    def pending(self) -> int:
        return q.slips_waiting(self.journal.conn)

    def last_error(self) -> str | None:
        """The printer's code from the last failed try at the oldest waiting document."""
        row = self.journal.conn.execute(
            "SELECT last_error FROM print_queue WHERE printed_at = '' ORDER BY id LIMIT 1"
        ).fetchone()
        return (row[0] or None) if row is not None else None

    def flush(self, *, reprint: bool = False) -> int:
        """Print what is queued, oldest first; returns how many are still waiting."""
        rows = self.journal.conn.execute(
            "SELECT id, doc, attempts FROM print_queue WHERE printed_at = '' ORDER BY id"
        ).fetchall()
        for n, r in enumerate(rows):
            doc = document_from_dict(json.loads(r["doc"]))
            if reprint or r["attempts"] > 0:
                doc = doc.as_reprint()
            try:
                self.printer.print_document(doc)
            except PrinterError as exc:
                with self.journal.write("printed") as conn:
                    conn.execute(
                        "UPDATE print_queue SET attempts = attempts + 1, last_error = ?"
                        " WHERE id = ?",
                        (exc.code.value, r["id"]),
                    )
                    self.journal.add_event(conn, PrintFailed(code=exc.code, queue_id=r["id"]))
                return len(rows) - n
            with self.journal.write("printed") as conn:
                conn.execute(
                    "UPDATE print_queue SET printed_at = ?, attempts = attempts + 1 WHERE id = ?",
                    (self.journal.now(), r["id"]),
                )
        return 0

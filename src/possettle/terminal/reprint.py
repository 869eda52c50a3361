"""Reprints on request: any receipt by its voucher number, the last settlement slip.

A real terminal prints a copy asked for later with a "duplicate" mark; so does this one: the
document is the one the journal queued when the transaction or settlement happened (same
time, same figures), marked ``REPRINT 重打印``, queued again and printed. A printer that is not
ready leaves the copy in the queue like any other slip, for the next ``terminal reprint``.
"""

from __future__ import annotations

import json

from possettle.terminal.errors import Refused
from possettle.terminal.printer.documents import Document, Receipt, document_from_dict
from possettle.terminal.printing import Printing


def _queued(printing: Printing, kind: str) -> list[Document]:
    """Every document of ``kind`` the journal queued, newest first, reprints left out."""
    rows = printing.journal.conn.execute(
        "SELECT doc FROM print_queue WHERE kind = ? ORDER BY id DESC", (kind,)
    ).fetchall()
    docs = [document_from_dict(json.loads(r[0])) for r in rows]
    return [d for d in docs if not d.reprint]


def find_receipt(printing: Printing, voucher: int, batch: int | None = None) -> Receipt:
    """The receipt of voucher (trace) number ``voucher``: the newest one, or ``batch``'s."""
    for doc in _queued(printing, "receipt"):
        if isinstance(doc, Receipt) and doc.stan == voucher and batch in (None, doc.batch):
            return doc
    where_en = f" in batch {batch:06d}" if batch is not None else ""
    where_zh = f"批次 {batch:06d} 中" if batch is not None else ""
    raise Refused(
        "reprint.no_receipt",
        f"--voucher {voucher}: no receipt with voucher number {voucher:06d}{where_en} "
        "(only approved transactions print one; `possettle terminal list` shows the vouchers)",
        f"--voucher {voucher}：{where_zh}没有凭证号 {voucher:06d} 的签购单"
        "（只有成功的交易才打印签购单；可用 `possettle terminal list` 查询凭证号）",
        voucher=voucher,
        batch=batch,
    )


def last_slip(printing: Printing) -> Document:
    """The settlement slip of the last settlement that printed one."""
    slips = _queued(printing, "slip")
    if not slips:
        raise Refused(
            "reprint.no_slip",
            "No settlement slip to reprint: this terminal has not settled a batch yet",
            "没有可重打印的结算单：本终端尚未结算过批次",
        )
    return slips[0]


def reprint(printing: Printing, doc: Document) -> int:
    """Queue ``doc`` again marked REPRINT and print; how many documents still wait."""
    copy = doc.as_reprint()
    with printing.journal.write("receipt_queued") as conn:
        printing.queue_copy(conn, copy)
    return printing.flush()

"""Changing what is registered: a merchant's name and address, a terminal's region, model and
merchant, and a terminal's master key (re-key).

Every function takes a :class:`~sqlalchemy.engine.Connection` inside the caller's transaction
and either changes everything asked or raises :class:`~possettle.host.errors.RegistryError`
(nothing written). Errors a person reads are in English and Chinese.

* A terminal moves to another merchant only while its current batch holds nothing unsettled:
  its money belongs to the merchant it was taken for. An open batch with entries, or one that
  is settling, refuses the move and says to settle first.
* :func:`rekey_terminal` seals a fresh TMK and drops the working keys: the terminal must
  sign on again with the new TMK loaded (its old PIK and MAK no longer verify anything, and
  a sign-on under the old TMK fails its check values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.crypto.keys import Key, check_value, generate_key
from possettle.crypto.vault import Vault
from possettle.host.errors import RegistryError
from possettle.host.registry import (
    TMK_LENGTH,
    check_address,
    check_mid,
    check_name,
    check_text,
    check_tid,
)
from possettle.ledger.kinds import BatchStatus
from possettle.ledger.schema import batches, ledger_entries, merchants, terminals

#: terminals.region and terminals.model are String(40)
TERMINAL_TEXT_MAX = 40


def unknown_merchant(mid: str) -> RegistryError:
    return RegistryError.in_both(f"merchant {mid!r} is not registered", f"商户号 {mid} 未登记")


def unknown_terminal(tid: str) -> RegistryError:
    return RegistryError.in_both(f"terminal {tid!r} is not registered", f"终端号 {tid} 未登记")


@dataclass(frozen=True, slots=True)
class MerchantView:
    mid: str
    name: str
    address: str | None
    status: str


@dataclass(frozen=True, slots=True)
class TerminalEdit:
    tid: str
    mid: str
    region: str | None
    model: str | None
    moved_from: str | None  # the merchant it belonged to, when it moved


def get_merchant(conn: Connection, mid: str) -> MerchantView:
    m = merchants.c
    row = conn.execute(
        sa.select(m.mid, m.name, m.address, m.status).where(m.mid == mid)
    ).one_or_none()
    if row is None:
        raise unknown_merchant(mid)
    return MerchantView(row.mid, row.name, row.address, row.status)


def edit_merchant(
    conn: Connection, mid: str, *, name: str | None = None, address: str | None = None
) -> MerchantView:
    """Change the name and/or the address (``""`` clears it) of merchant ``mid``."""
    check_mid(mid)
    get_merchant(conn, mid)
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = check_name(mid, name)
    if address is not None:
        values["address"] = check_address(mid, address)
    if not values:
        raise RegistryError.in_both(
            "nothing to change: give --name or --address", "未指定要修改的内容"
        )
    conn.execute(merchants.update().where(merchants.c.mid == mid).values(**values))
    return get_merchant(conn, mid)


def _terminal_row(conn: Connection, tid: str) -> Any:
    t = terminals.c
    row = conn.execute(
        sa.select(t.tid, t.mid, t.region, t.model, t.current_batch).where(t.tid == tid)
    ).one_or_none()
    if row is None:
        raise unknown_terminal(tid)
    return row


def unsettled_reason(conn: Connection, tid: str, batch: int) -> tuple[str, str] | None:
    """Why terminal ``tid``'s batch ``batch`` is not empty or settled, or None when it is."""
    status = conn.execute(
        sa.select(batches.c.status).where(batches.c.tid == tid, batches.c.batch == batch)
    ).scalar_one_or_none()
    if status is None or status == BatchStatus.CLOSED:
        return None
    if status == BatchStatus.SETTLING:
        return (
            f"its batch {batch:06d} is being settled",
            f"其批次 {batch:06d} 正在结算",
        )
    entries = conn.execute(
        sa.select(sa.func.count())
        .select_from(ledger_entries)
        .where(ledger_entries.c.tid == tid, ledger_entries.c.batch == batch)
    ).scalar_one()
    if entries:
        return (
            f"its open batch {batch:06d} holds {entries} unsettled transaction(s)",
            f"其批次 {batch:06d} 中有 {entries} 笔未结算交易",
        )
    return None


def edit_terminal(
    conn: Connection,
    tid: str,
    *,
    region: str | None = None,
    model: str | None = None,
    mid: str | None = None,
) -> TerminalEdit:
    """Change the region, model (``""`` clears either) and/or merchant of terminal ``tid``."""
    check_tid(tid)
    row = _terminal_row(conn, tid)
    values: dict[str, Any] = {}
    for column, value, zh in (("region", region, "区域"), ("model", model, "型号")):
        if value is not None:
            text = value.strip()
            check_text(f"{column} of {tid!r}", f"终端 {tid} 的{zh}", text, TERMINAL_TEXT_MAX)
            values[column] = text or None
    moved_from = None
    if mid is not None and mid != row.mid:
        check_mid(mid)
        get_merchant(conn, mid)
        why = unsettled_reason(conn, tid, row.current_batch)
        if why is not None:
            raise RegistryError.in_both(
                f"terminal {tid!r} cannot move to merchant {mid!r}: {why[0]}; settle it first",
                f"终端 {tid} 不能转到商户 {mid}：{why[1]}，请先结算",
            )
        values["mid"] = mid
        moved_from = row.mid
        # an open batch row with nothing in it follows the terminal to its new merchant
        conn.execute(
            batches.update()
            .where(
                batches.c.tid == tid,
                batches.c.batch == row.current_batch,
                batches.c.status == BatchStatus.OPEN.value,
            )
            .values(mid=mid)
        )
    if not values and mid is None:
        raise RegistryError.in_both(
            "nothing to change: give --region, --model or --mid", "未指定要修改的内容"
        )
    if values:
        conn.execute(terminals.update().where(terminals.c.tid == tid).values(**values))
    after = _terminal_row(conn, tid)
    return TerminalEdit(tid, after.mid, after.region, after.model, moved_from)


def rekey_terminal(conn: Connection, vault: Vault, tid: str) -> tuple[Key, bytes]:
    """A fresh TMK for ``tid``, sealed; its working keys are dropped and it must sign on again.

    Returns the TMK and its 4-byte check value so the caller can show them ONCE.
    """
    check_tid(tid)
    _terminal_row(conn, tid)
    key = generate_key(TMK_LENGTH)
    kcv = check_value(key)
    conn.execute(
        terminals.update()
        .where(terminals.c.tid == tid)
        .values(
            tmk_sealed=vault.seal_key(key, b"tmk:" + tid.encode("ascii")),
            tmk_kcv=kcv.hex().upper(),
            pik_sealed=None,
            mak_sealed=None,
            signed_on=False,
            needs_signon=True,
        )
    )
    return key, kcv

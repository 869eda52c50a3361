"""The host's merchants and terminals, with each terminal's keys sealed by the vault.

Every function takes a :class:`~sqlalchemy.engine.Connection`, so it runs as a ledger writer
op (``await db.write(lambda c: add_merchant(c, mid, name))``) or on a plain connection.
A terminal's TMK is stored only sealed (AAD ``b"tmk:" + tid``) with its check value; working
keys likewise (``b"pik:"`` / ``b"mak:"``). :func:`add_terminal` hands the TMK back once so it
can be loaded into the terminal out of band; no listing ever returns key material.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection

from possettle.clock import SystemClock
from possettle.crypto.keys import Key, check_value, generate_key
from possettle.crypto.vault import Vault
from possettle.host.errors import RegistryError
from possettle.ledger.kinds import MerchantStatus, TerminalStatus
from possettle.ledger.schema import merchants, terminals

TID_LENGTH = 8
MID_LENGTH = 15
TMK_LENGTH = 16
MERCHANT_NAME_MAX = 100  # merchants.name is String(100)
MERCHANT_ADDRESS_MAX = 80  # merchants.address is String(80)


@dataclass(frozen=True)
class TerminalRow:
    """A terminal as the console and CLI see it: no key material, only the TMK check value."""

    tid: str
    mid: str
    status: TerminalStatus
    region: str | None
    model: str | None
    tmk_kcv: str
    has_working_keys: bool
    keys_issued_at: datetime | None
    signed_on: bool
    needs_signon: bool
    current_batch: int
    software_version: str | None
    last_signon_at: datetime | None
    last_seen_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class TerminalKeys:
    """A terminal's clear keys (each ``Key`` has a masked repr): TMK and, once issued, PIK/MAK."""

    tmk: Key
    pik: Key | None
    mak: Key | None


def check_tid(tid: str) -> str:
    """``tid`` if it is a valid TID (field 41: exactly 8 printable ASCII characters)."""
    return _check_id("TID", tid, TID_LENGTH)


def check_mid(mid: str) -> str:
    """``mid`` if it is a valid MID (field 42: exactly 15 printable ASCII characters)."""
    return _check_id("MID", mid, MID_LENGTH)


def _check_id(what: str, value: str, length: int) -> str:
    if not isinstance(value, str):
        raise RegistryError.said("registry.id_type", what=what, type=type(value).__name__)
    if len(value) != length:
        raise RegistryError.said(
            "registry.id_length", what=what, value=repr(value), length=len(value), expected=length
        )
    for pos, ch in enumerate(value):
        if not (" " <= ch <= "~"):
            raise RegistryError.said("registry.id_char", what=what, value=repr(value), pos=pos)
    return value


def check_name(mid: str, name: str) -> str:
    """A merchant name: non-empty, at most 100 characters, no control characters."""
    text = name.strip()
    if not text:
        raise RegistryError.in_both(
            f"merchant {mid!r} needs a non-empty name", f"商户 {mid} 的名称不能为空"
        )
    check_text(f"merchant name for {mid!r}", f"商户 {mid} 的名称", text, MERCHANT_NAME_MAX)
    return text


def check_address(mid: str, address: str) -> str | None:
    """A merchant address (empty clears it): at most 80 characters, no control characters."""
    text = address.strip()
    if not text:
        return None
    check_text(f"address for {mid!r}", f"商户 {mid} 的地址", text, MERCHANT_ADDRESS_MAX)
    return text


def check_text(what: str, what_zh: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise RegistryError.in_both(
            f"{what} is {len(text)} characters, at most {limit}",
            f"{what_zh}长 {len(text)} 个字符，最多 {limit} 个",
        )
    for pos, ch in enumerate(text):
        if not ch.isprintable():
            raise RegistryError.in_both(
                f"{what} has a control character at position {pos}",
                f"{what_zh}第 {pos} 个字符是控制字符",
            )


def _now(at: datetime | None) -> datetime:
    return at if at is not None else SystemClock().now()


def _insert(conn: Connection, stmt: sa.Insert, duplicate: RegistryError) -> None:
    # A savepoint, so a concurrent duplicate (another host process) leaves the caller's
    # transaction usable and becomes a RegistryError instead of a driver error.
    try:
        with conn.begin_nested():
            conn.execute(stmt)
    except exc.IntegrityError as e:
        raise duplicate from e


def add_merchant(
    conn: Connection,
    mid: str,
    name: str,
    *,
    address: str | None = None,
    at: datetime | None = None,
) -> None:
    """Register merchant ``mid`` (with its ``address`` for receipts, if given); a duplicate
    MID is a :class:`RegistryError`."""
    stored_address = None if address is None else check_address(mid, address)
    check_mid(mid)
    if not name.strip():
        raise RegistryError.said("registry.merchant_name_empty", mid=repr(mid))
    if len(name) > MERCHANT_NAME_MAX:
        raise RegistryError.said(
            "registry.merchant_name_long", mid=repr(mid), length=len(name), most=MERCHANT_NAME_MAX
        )
    if _exists(conn, merchants.c.mid, mid):
        raise RegistryError.said("registry.merchant_exists", mid=repr(mid))
    values = {"mid": mid, "name": name, "status": MerchantStatus.ACTIVE.value}
    if stored_address is not None:
        values["address"] = stored_address  # named only when given (older ledgers lack it)
    stmt = merchants.insert().values(**values, created_at=_now(at))
    _insert(conn, stmt, RegistryError.said("registry.merchant_exists", mid=repr(mid)))


def add_terminal(
    conn: Connection,
    vault: Vault,
    tid: str,
    mid: str,
    tmk: Key | None = None,
    region: str | None = None,
    model: str | None = None,
    *,
    at: datetime | None = None,
) -> tuple[Key, bytes]:
    """Register terminal ``tid`` under merchant ``mid`` with ``tmk`` (a fresh 16-byte one if None).

    Returns the TMK and its 4-byte check value so the caller can show them ONCE; the
    database holds only the sealed TMK and the check value as 8 hex digits (ledgers made
    before check values were shown one length everywhere hold the first 3 bytes).
    """
    check_tid(tid)
    check_mid(mid)
    if tmk is not None and len(tmk) not in (16, 24):
        raise RegistryError.said("registry.tmk_length", tid=repr(tid), length=len(tmk))
    if not _exists(conn, merchants.c.mid, mid):
        raise RegistryError.said("registry.merchant_unknown", tid=repr(tid), mid=repr(mid))
    if _exists(conn, terminals.c.tid, tid):
        raise RegistryError.said("registry.terminal_exists", tid=repr(tid))
    key = tmk if tmk is not None else generate_key(TMK_LENGTH)
    kcv = check_value(key)
    stmt = terminals.insert().values(
        tid=tid,
        mid=mid,
        status=TerminalStatus.ACTIVE.value,
        region=region,
        model=model,
        tmk_sealed=vault.seal_key(key, _aad("tmk", tid)),
        tmk_kcv=kcv.hex().upper(),
        created_at=_now(at),
    )
    _insert(conn, stmt, RegistryError.said("registry.terminal_exists", tid=repr(tid)))
    return key, kcv


def list_terminals(conn: Connection, mid: str | None = None) -> list[TerminalRow]:
    """Every terminal (of ``mid`` if given), ordered by TID."""
    query = sa.select(*_ROW_COLUMNS).order_by(terminals.c.tid)
    if mid is not None:
        query = query.where(terminals.c.mid == mid)
    return [_row(r._mapping) for r in conn.execute(query)]


def get_terminal(conn: Connection, tid: str) -> TerminalRow | None:
    """Terminal ``tid``, or ``None`` if it is not registered."""
    r = conn.execute(sa.select(*_ROW_COLUMNS).where(terminals.c.tid == tid)).first()
    return None if r is None else _row(r._mapping)


def set_terminal_status(conn: Connection, tid: str, status: TerminalStatus | str) -> None:
    """Enable or disable terminal ``tid``."""
    try:
        value = TerminalStatus(status)
    except ValueError as e:
        allowed = ", ".join(s.value for s in TerminalStatus)
        raise RegistryError.said(
            "registry.status_unknown", status=repr(status), allowed=allowed
        ) from e
    done = conn.execute(terminals.update().where(terminals.c.tid == tid).values(status=value.value))
    if done.rowcount != 1:
        raise RegistryError.said("registry.terminal_unknown", tid=repr(tid))


def get_terminal_keys(conn: Connection, vault: Vault, tid: str) -> TerminalKeys:
    """Terminal ``tid``'s TMK and working keys, opened with the vault."""
    t = terminals.c
    r = conn.execute(
        sa.select(t.tmk_sealed, t.pik_sealed, t.mak_sealed).where(t.tid == tid)
    ).first()
    if r is None:
        raise RegistryError.said("registry.terminal_unknown", tid=repr(tid))
    return TerminalKeys(
        tmk=vault.open_key(r.tmk_sealed, _aad("tmk", tid)),
        pik=None if r.pik_sealed is None else vault.open_key(r.pik_sealed, _aad("pik", tid)),
        mak=None if r.mak_sealed is None else vault.open_key(r.mak_sealed, _aad("mak", tid)),
    )


def store_working_keys(
    conn: Connection, vault: Vault, tid: str, pik: Key, mak: Key, at: datetime
) -> None:
    """Keep the PIK and MAK just issued to ``tid`` (sealed), stamped ``keys_issued_at``."""
    done = conn.execute(
        terminals.update()
        .where(terminals.c.tid == tid)
        .values(
            pik_sealed=vault.seal_key(pik, _aad("pik", tid)),
            mak_sealed=vault.seal_key(mak, _aad("mak", tid)),
            keys_issued_at=at,
        )
    )
    if done.rowcount != 1:
        raise RegistryError(f"cannot store working keys: terminal {tid!r} is not registered")


def _aad(kind: str, tid: str) -> bytes:
    return kind.encode("ascii") + b":" + tid.encode("ascii")


def _exists(conn: Connection, column: sa.Column[Any], value: str) -> bool:
    return conn.execute(sa.select(column).where(column == value)).first() is not None


_ROW_COLUMNS = (
    terminals.c.tid,
    terminals.c.mid,
    terminals.c.status,
    terminals.c.region,
    terminals.c.model,
    terminals.c.tmk_kcv,
    (terminals.c.pik_sealed.is_not(None) & terminals.c.mak_sealed.is_not(None)).label(
        "has_working_keys"
    ),
    terminals.c.keys_issued_at,
    terminals.c.signed_on,
    terminals.c.needs_signon,
    terminals.c.current_batch,
    terminals.c.software_version,
    terminals.c.last_signon_at,
    terminals.c.last_seen_at,
    terminals.c.created_at,
)


def _row(m: Any) -> TerminalRow:
    return TerminalRow(
        tid=m["tid"],
        mid=m["mid"],
        status=TerminalStatus(m["status"]),
        region=m["region"],
        model=m["model"],
        tmk_kcv=m["tmk_kcv"],
        has_working_keys=bool(m["has_working_keys"]),
        keys_issued_at=m["keys_issued_at"],
        signed_on=bool(m["signed_on"]),
        needs_signon=bool(m["needs_signon"]),
        current_batch=int(m["current_batch"]),
        software_version=m["software_version"],
        last_signon_at=m["last_signon_at"],
        last_seen_at=m["last_seen_at"],
        created_at=m["created_at"],
    )

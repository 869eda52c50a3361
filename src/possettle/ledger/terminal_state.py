"""What the host knows about a terminal when a request arrives, read in one query.

A :class:`TerminalState` may be served from the host's per-process cache
(:mod:`possettle.host.state_cache`); :func:`touch_if_current` is how a write proves, inside
its own transaction, that the state it was decided on is still the ledger's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.crypto.keys import Key
from possettle.crypto.vault import Vault
from possettle.ledger.kinds import BatchStatus, MerchantStatus, TerminalStatus
from possettle.ledger.raw import RawStatement
from possettle.ledger.schema import batches, host_events, merchants, terminals


@dataclass(frozen=True, slots=True)
class TerminalState:
    tid: str
    mid: str
    active: bool
    merchant_active: bool
    current_batch: int
    batch_status: BatchStatus
    batch_exists: bool
    signed_on: bool
    needs_signon: bool
    tmk: Key
    pik: Key | None
    mak: Key | None
    region: str | None
    #: the sealed MAK as stored: a fresh nonce per sign-on, so it names the key generation
    mak_seal: bytes | None = None


_T = terminals.c
_LOAD = (
    sa.select(
        terminals.c.tid,
        terminals.c.mid,
        terminals.c.status,
        terminals.c.current_batch,
        terminals.c.signed_on,
        terminals.c.needs_signon,
        terminals.c.tmk_sealed,
        terminals.c.pik_sealed,
        terminals.c.mak_sealed,
        terminals.c.region,
        merchants.c.status.label("merchant_status"),
        batches.c.status.label("batch_status"),
    )
    .select_from(
        terminals.join(merchants, merchants.c.mid == terminals.c.mid).outerjoin(
            batches,
            sa.and_(
                batches.c.tid == terminals.c.tid,
                batches.c.batch == terminals.c.current_batch,
            ),
        )
    )
    .where(_T.tid == sa.bindparam("tid"))
)

# The facts a sale was decided on, re-checked by the same statement that records the visit:
# active terminal and merchant, signed on with the same keys, the same current batch, open.
_TOUCH_IF_CURRENT = RawStatement(
    sa.update(terminals)
    .where(
        _T.tid == sa.bindparam("g_tid"),
        _T.status == TerminalStatus.ACTIVE.value,
        _T.signed_on == sa.true(),
        _T.needs_signon == sa.bindparam("g_needs_signon"),
        _T.current_batch == sa.bindparam("g_batch"),
        _T.mak_sealed == sa.bindparam("g_mak_seal"),
        sa.exists().where(
            merchants.c.mid == _T.mid, merchants.c.status == MerchantStatus.ACTIVE.value
        ),
        ~sa.exists().where(
            batches.c.tid == _T.tid,
            batches.c.batch == _T.current_batch,
            batches.c.status != BatchStatus.OPEN.value,
        ),
    )
    .values(last_seen_at=sa.bindparam("g_at"))
)
_TOUCH = RawStatement(
    sa.update(terminals)
    .where(_T.tid == sa.bindparam("g_tid"))
    .values(last_seen_at=sa.bindparam("g_at"))
)


def load_terminal(conn: Connection, vault: Vault, tid: str) -> TerminalState | None:
    row = conn.execute(_LOAD, {"tid": tid}).one_or_none()
    if row is None:
        return None
    aad = tid.encode()
    return TerminalState(
        tid=row.tid,
        mid=row.mid,
        active=row.status == TerminalStatus.ACTIVE,
        merchant_active=row.merchant_status == MerchantStatus.ACTIVE,
        current_batch=row.current_batch,
        batch_status=BatchStatus(row.batch_status or BatchStatus.OPEN),
        batch_exists=row.batch_status is not None,
        signed_on=bool(row.signed_on),
        needs_signon=bool(row.needs_signon),
        tmk=vault.open_key(row.tmk_sealed, b"tmk:" + aad),
        pik=vault.open_key(row.pik_sealed, b"pik:" + aad) if row.pik_sealed else None,
        mak=vault.open_key(row.mak_sealed, b"mak:" + aad) if row.mak_sealed else None,
        region=row.region,
        mak_seal=row.mak_sealed,
    )


def touch_if_current(conn: Connection, state: TerminalState, at: datetime) -> bool:
    """Record the visit if ``state`` still holds in the ledger; False (nothing written) if not.

    False means another request or host process changed the terminal since ``state`` was
    read (sign-on, sign-off, MAC failure, settlement, enable/disable): the caller must not
    book on it.
    """
    if state.mak_seal is None:
        return False
    params = {
        "g_tid": state.tid,
        "g_needs_signon": state.needs_signon,
        "g_batch": state.current_batch,
        "g_mak_seal": state.mak_seal,
        "g_at": at,
    }
    return _TOUCH_IF_CURRENT.rowcount(conn, params) == 1


def mark_needs_signon(conn: Connection, tid: str) -> None:
    conn.execute(sa.update(terminals).where(terminals.c.tid == tid).values(needs_signon=True))


def sign_off(conn: Connection, tid: str) -> None:
    conn.execute(
        sa.update(terminals)
        .where(terminals.c.tid == tid)
        .values(signed_on=False, pik_sealed=None, mak_sealed=None)
    )


def record_event(
    conn: Connection,
    at: datetime,
    kind: str,
    *,
    tid: str | None = None,
    code: str | None = None,
    detail: str = "{}",
) -> None:
    """A host event for the doctor and console; ``detail`` must already be masked JSON."""
    conn.execute(
        sa.insert(host_events).values(at=at, tid=tid, kind=kind, response_code=code, detail=detail)
    )


def store_session_keys(
    conn: Connection,
    vault: Vault,
    tid: str,
    pik: Key,
    mak: Key,
    *,
    at: datetime,
    software_version: str,
) -> int:
    """Adopt freshly issued working keys at sign-on; returns the batch the host expects."""
    aad = tid.encode()
    conn.execute(
        sa.update(terminals)
        .where(terminals.c.tid == tid)
        .values(
            pik_sealed=vault.seal_key(pik, b"pik:" + aad),
            mak_sealed=vault.seal_key(mak, b"mak:" + aad),
            keys_issued_at=at,
            signed_on=True,
            needs_signon=False,
            last_signon_at=at,
            last_seen_at=at,
            software_version=software_version,
        )
    )
    batch: int = conn.execute(
        sa.select(terminals.c.current_batch).where(terminals.c.tid == tid)
    ).scalar_one()
    return batch


def touch(conn: Connection, tid: str, at: datetime) -> None:
    _TOUCH.rowcount(conn, {"g_tid": tid, "g_at": at})

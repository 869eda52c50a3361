"""Exactly-once requests: TID + batch + STAN + MTI is the key, the content digest the check.

A repeat with the same digest gets the stored reply (re-MACed by the caller with the current
MAK); the same key with another digest is refused with ``94`` and has no effect.

The statements are built once (bound parameters, SQLAlchemy's compiled cache): they run for
every financial request, and building a statement costs several times what running it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.ledger.raw import RawStatement
from possettle.ledger.schema import requests


@dataclass(frozen=True, slots=True)
class RequestKey:
    tid: str
    batch: int
    stan: str
    mti: str


@dataclass(frozen=True, slots=True)
class StoredRequest:
    digest: str
    response_code: str
    reply: str


_R = requests.c
# Two MTIs, fixed: a 0200 asks for itself and its 0400; other callers repeat their one MTI.
_FIND = RawStatement(
    sa.select(_R.mti, _R.digest, _R.response_code, _R.reply).where(
        _R.tid == sa.bindparam("tid"),
        _R.batch == sa.bindparam("batch"),
        _R.stan == sa.bindparam("stan"),
        _R.mti.in_([sa.bindparam("mti_a"), sa.bindparam("mti_b")]),
    )
)
_STORED = ("tid", "batch", "stan", "mti", "digest", "response_code", "reply", "created_at")
_STORE = RawStatement(sa.insert(requests).values({c: sa.bindparam(c) for c in _STORED}))


def find_requests(
    conn: Connection, tid: str, batch: int, stan: str, mtis: tuple[str, str]
) -> dict[str, StoredRequest]:
    """The stored requests of ``tid`` + ``batch`` + ``stan`` with either MTI, by MTI.

    One statement answers both questions a 0200 asks: "is this a repeat?" (its own MTI) and
    "was it reversed first?" (``0400``, which keeps the original STAN).
    """
    params = {"tid": tid, "batch": batch, "stan": stan, "mti_a": mtis[0], "mti_b": mtis[1]}
    return {
        mti: StoredRequest(digest, code, reply)
        for mti, digest, code, reply in _FIND.rows(conn, params)
    }


def find_request(conn: Connection, key: RequestKey) -> StoredRequest | None:
    return find_requests(conn, key.tid, key.batch, key.stan, (key.mti, key.mti)).get(key.mti)


def store_request(
    conn: Connection, key: RequestKey, digest: str, code: str, reply: str, at: datetime
) -> None:
    _STORE.rowcount(
        conn,
        {
            "tid": key.tid,
            "batch": key.batch,
            "stan": key.stan,
            "mti": key.mti,
            "digest": digest,
            "response_code": code,
            "reply": reply,
            "created_at": at,
        },
    )

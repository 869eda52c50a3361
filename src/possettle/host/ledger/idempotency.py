"""Exactly-once requests: TID + batch + STAN + MTI is the key, the content digest the check.

A repeat with the same digest gets the stored reply (re-MACed by the caller with the current
MAK); the same key with another digest is refused with ``94`` and has no effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.host.ledger.schema import requests


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


def find_request(conn: Connection, key: RequestKey) -> StoredRequest | None:
    row = conn.execute(
        sa.select(requests.c.digest, requests.c.response_code, requests.c.reply).where(
            requests.c.tid == key.tid,
            requests.c.batch == key.batch,
            requests.c.stan == key.stan,
            requests.c.mti == key.mti,
        )
    ).one_or_none()
    if row is None:
        return None
    return StoredRequest(row.digest, row.response_code, row.reply)


def store_request(
    conn: Connection, key: RequestKey, digest: str, code: str, reply: str, at: datetime
) -> None:
    conn.execute(
        sa.insert(requests).values(
            tid=key.tid,
            batch=key.batch,
            stan=key.stan,
            mti=key.mti,
            digest=digest,
            response_code=code,
            reply=reply,
            created_at=at,
        )
    )

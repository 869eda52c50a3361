"""A small ledger written row by row, so every figure the console shows is known in advance.

A shop in Beijing (UTC+8) with four terminals on 7 December 2026:

* ``T0000001`` settled batch 1 at 14:03:22 Beijing time (06:03:22 UTC), balanced at once; it
  signed on with software 1.2.0 and sold one item for 470.82 yuan.
* ``T0000002`` failed to settle batch 1 (the host's reply was lost), then balanced; its report
  is the doctor's standing verdict for batch 2: ok, ``network.unstable`` at step ``settle``.
* ``T0000003`` is stuck settling batch 1 and reported the failure (ok false, batch 1).
* ``T0000004`` settled batch 1 at 00:30 on 8 December Beijing time — 16:30 UTC on the 7th.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from possettle.ledger.migrate import init_db
from possettle.ledger.schema import (
    batches,
    host_events,
    ledger_entries,
    merchants,
    requests,
    terminal_reports,
    terminals,
)

MID = "898100012340009"
T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
T1_CLOSED = datetime(2026, 12, 7, 6, 3, 22, tzinfo=UTC)  # 14:03:22 in Beijing
T2_CLOSED = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
T3_ASKED = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
T4_CLOSED = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)  # 00:30 on the 8th in Beijing
NOW = T4_CLOSED + timedelta(minutes=5)
SALE_FEN = 47082


def build(url: str) -> None:
    init_db(url)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            _rows(conn)
    finally:
        engine.dispose()


def _rows(conn: sa.Connection) -> None:
    conn.execute(sa.insert(merchants).values(mid=MID, name="shop", created_at=T0))
    seen = {"T0000001": T1_CLOSED, "T0000002": T2_CLOSED, "T0000003": T3_ASKED,
            "T0000004": T4_CLOSED}  # fmt: skip
    for tid, last in seen.items():
        conn.execute(
            sa.insert(terminals).values(
                tid=tid, mid=MID, region="north", model="P1", tmk_sealed=b"x",
                tmk_kcv="000000", created_at=T0, software_version="010200",
                last_signon_at=T0 + timedelta(hours=1), last_seen_at=last, signed_on=True,
                current_batch=1 if tid == "T0000003" else 2,
            )
        )  # fmt: skip
        conn.execute(
            sa.insert(host_events).values(
                at=T0 + timedelta(hours=1), tid=tid, kind="signon",
                detail=json.dumps({"version": "010200"}),
            )
        )  # fmt: skip
    closed = {"T0000001": T1_CLOSED, "T0000002": T2_CLOSED, "T0000004": T4_CLOSED}
    for tid, at in closed.items():
        conn.execute(
            sa.insert(batches).values(
                tid=tid, batch=1, mid=MID, status="closed", opened_at=T0,
                settle_requested_at=at - timedelta(seconds=1), closed_at=at,
                result_domestic=1, result_foreign=1,
            )
        )  # fmt: skip
        conn.execute(
            sa.insert(batches).values(tid=tid, batch=2, mid=MID, status="open", opened_at=at)
        )
        conn.execute(
            sa.insert(requests).values(
                tid=tid, batch=1, stan="000009", mti="0500", digest="0" * 64,
                response_code="00", reply="{}", created_at=at - timedelta(seconds=1),
            )
        )  # fmt: skip
    conn.execute(
        sa.insert(batches).values(
            tid="T0000003", batch=1, mid=MID, status="settling", opened_at=T0,
            settle_requested_at=T3_ASKED,
        )
    )  # fmt: skip
    reports = {
        "T0000002": {"ok": True, "batch": 2, "causes": [["network.unstable", 0.74, "settle"]],
                     "checks": {}, "pending_reversals": 0, "offline_items": 0},
        "T0000003": {"ok": False, "batch": 1, "causes": [["network.unstable", 0.81, "settle"]],
                     "checks": {"network": "fail"}, "pending_reversals": 0, "offline_items": 0},
    }  # fmt: skip
    for tid, report in reports.items():
        conn.execute(
            sa.insert(terminal_reports).values(
                tid=tid, received_at=seen[tid] + timedelta(minutes=1), report=json.dumps(report)
            )
        )
    conn.execute(
        sa.insert(ledger_entries).values(
            tid="T0000001", mid=MID, batch=1, stan="000001", kind="sale", amount=SALE_FEN,
            currency="156", domestic=True, debit_amount=SALE_FEN, debit_count=1,
            credit_amount=0, credit_count=0, pan_hash="h" * 64, pan_masked="622202******1234",
            rrn="000000000001", auth_code="123456", card_org="CUP", host_date=date(2026, 12, 7),
            created_at=T1_CLOSED - timedelta(hours=1), clearing_date=date(2026, 12, 7),
        )
    )  # fmt: skip

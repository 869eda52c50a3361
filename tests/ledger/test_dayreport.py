"""``possettle host report day`` over a ledger a real host wrote (SQLite and PostgreSQL).

Three terminals of one merchant on one business day in Shanghai (the host's clock is fixed at
01:30 Beijing time, 17:30 UTC the evening before): one sells, has a wrong PIN refused and
settles out of balance with a batch upload; one sells and never settles; one does nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.clock import FixedClock
from possettle.crypto.keys import Key
from possettle.iso8583.fields import HalfTotals, SettlementTotals, UploadRecord
from possettle.ledger.dayreport_format import yuan
from possettle.link import requests as m
from possettle.link.client import Link
from tests.host.harness import KEYS, MID, PAN, RunningHost, register, running_host

T1, T2, T3 = "DAYREP01", "DAYREP02", "DAYREP03"
#: 2026-12-08 01:30 in Shanghai
NOW = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)


async def _sale(link: Link, tid: str, amount: int, pin: str = "123456") -> dict[str, str]:
    req = m.sale(
        tid, MID, link.next_stan(), link.batch, pan=PAN, amount=amount, expiry="3012",
        pin=pin, pik=link.pik,
    )  # fmt: skip
    return (await link.send(req)).reply


async def _day(host: RunningHost) -> None:
    one = host.link(tid=T1)
    two = host.link(tid=T2)
    for link in (one, two):
        await link.connect()
        assert (await link.sign_on()).code == "00"
    first = await _sale(one, T1, 12345)
    assert first["39"] == "00"
    assert (await _sale(one, T1, 500))["39"] == "00"
    assert (await _sale(one, T1, 800, pin="999999"))["39"] == "55"
    assert (await _sale(two, T2, 2000))["39"] == "00"
    # T1 claims one sale more than the host holds: out of balance, then the batch upload
    claimed = SettlementTotals(HalfTotals(12845 + 999, 3, 0, 0), HalfTotals(0, 0, 0, 0))
    assert (await one.send(m.settlement(T1, MID, one.next_stan(), 1, claimed))).code == "00"
    records = [UploadRecord(True, int(first["11"]), PAN, 12345), UploadRecord(True, 777, PAN, 999)]
    assert (await one.send(m.batch_upload(T1, MID, one.next_stan(), 1, records))).code == "00"
    end = m.upload_end(T1, MID, one.next_stan(), 1, 2, balanced=False)
    assert (await one.send(end)).code == "00"
    # T2 then sends a sale under a wrong MAK (A0), and T3 has software below the minimum
    good = two.mak
    two.mak = Key.from_hex("0123456789ABCDEF")
    assert (await _sale(two, T2, 100))["39"] == "A0"
    two.mak = good
    for link in (one, two):
        await link.close()
    await asyncio.to_thread(
        CliRunner().invoke, app, ["host", "policy", "--db", host.config.db_url,
                                  "--min-version", "2.0.0"],
    )  # fmt: skip
    old = host.link(tid=T3, version="010000")
    await old.connect()
    assert (await old.sign_on()).code == "58"
    await old.close()


def _report(url: str, *args: str) -> str:
    result = CliRunner().invoke(app, ["host", "report", "day", "--db", url, *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
async def ledger(db_url: str, tmp_path: Path) -> str:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file, {T1: KEYS["tmk"], T2: KEYS["tmk"], T3: KEYS["tmk"]})
    async with running_host(db_url, key_file, clock=FixedClock(NOW)) as host:
        await _day(host)
    return db_url


async def test_the_day_report_lists_every_terminal_with_totals_and_failures(ledger: str) -> None:
    data = json.loads(_report(ledger, "--date", "2026-12-08", "--json"))
    assert (data["date"], data["zone"]) == ("2026-12-08", "Asia/Shanghai")
    by_tid = {t["tid"]: t for t in data["terminals"]}
    assert sorted(by_tid) == [T1, T2, T3]
    one, two, three = by_tid[T1], by_tid[T2], by_tid[T3]
    assert (one["status"], two["status"], three["status"]) == ("settled", "unsettled", "idle")
    assert (one["sales_count"], one["sales_amount"], one["net_amount"]) == (2, 12845, 12845)
    assert (two["sales_count"], two["sales_amount"], two["unsettled_count"]) == (1, 2000, 1)
    assert one["settle_attempts"] == 1
    (batch,) = one["settlements"]
    assert (batch["batch"], batch["result"], batch["uploaded_records"]) == (
        1, "balanced_after_upload", 2,
    )  # fmt: skip
    failures = {(f["kind"], f["code"], f["cause"]): f["count"] for f in one["failures"]}
    assert failures[("refusal", "55", None)] == 1
    assert failures[("settlement", None, "batch.out_of_balance")] == 1
    recon = sorted(f["en"] for f in one["failures"] if f["kind"] == "recon")
    assert recon == [  # the sale the host never saw, the one the terminal did not upload
        "batch 000001: reconciliation exception missing_at_host",
        "batch 000001: reconciliation exception missing_at_terminal",
    ]
    assert [(f["kind"], f["code"], f["cause"], f["count"]) for f in two["failures"]] == [
        ("mac_error", "A0", "keys.out_of_sync", 1)
    ]
    assert [(f["kind"], f["code"], f["cause"]) for f in three["failures"]] == [
        ("event", "58", "software.outdated")
    ]
    assert data["totals"]["sales_amount"] == 14845
    assert data["totals"]["terminals_unsettled"] == 1


async def test_the_business_day_is_the_shops_day_not_utcs(ledger: str) -> None:
    data = json.loads(_report(ledger, "--date", "2026-12-07", "--json"))
    assert {t["status"] for t in data["terminals"]} == {"idle"}
    utc = json.loads(_report(ledger, "--date", "2026-12-07", "--zone", "UTC", "--json"))
    assert utc["totals"]["sales_count"] == 3


async def test_csv_has_minor_units_and_text_has_yuan(ledger: str) -> None:
    rows = list(csv.DictReader(io.StringIO(_report(ledger, "--date", "2026-12-08", "--csv"))))
    assert [r["tid"] for r in rows] == [T1, T2, T3]
    assert (rows[0]["sales_amount"], rows[0]["status"], rows[0]["results"]) == (
        "12845", "settled", "balanced_after_upload",
    )  # fmt: skip
    assert rows[0]["failures"] == "settlement:1;recon:1;recon:1;55:1"
    text = _report(ledger, "--date", "2026-12-08")
    assert f"sales 消费 2 / {yuan(12845)}" in text and yuan(12845) == "128.45"
    assert "NOT SETTLED 未结算: 1 transaction(s) not settled / 1 笔未结算" in text
    assert "1 × 55 " in text


def test_a_bad_date_is_a_clear_error(tmp_path: Path) -> None:
    db = str(tmp_path / "host.db")
    assert CliRunner().invoke(app, ["host", "init", "--db", db]).exit_code == 0
    result = CliRunner().invoke(app, ["host", "report", "day", "--db", db, "--date", "8/12"])
    assert result.exit_code == 1
    assert "--date: '8/12' is not a date YYYY-MM-DD" in result.output

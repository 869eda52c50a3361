"""``terminal export`` and the rescue of a corrupt journal, with the money checked.

A shop settles one batch, then takes 80 more payments; its journal file is damaged (pages
overwritten with garbage, as a failing flash card does). What can still be read is exported
and rebuilt into a fresh journal, and that batch settles against the real host: every rescued
transaction equals the one journaled, and what is missing is exactly what the rescue reports
as lost.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from possettle.cli.main import app
from possettle.crypto.vault import Vault
from possettle.terminal.config import JOURNAL_FILE, KEY_FILE
from possettle.terminal.rescue.rows import rescue as read_damaged
from tests.host.harness import register, running_host
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN, make_terminal, open_pos

PANS = (CUP_PAN, VISA_PAN, CUP_PAN_2)
PAGE = 4096
SALES = 80  # four leaf pages of transactions or so


async def run(term: Path, *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, app, ["terminal", *args, "--dir", str(term)], catch_exceptions=False
    )


async def run_json(term: Path, *args: str) -> Any:
    result = await run(term, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def read_txns(journal: Path) -> dict[int, dict[str, Any]]:
    db = sqlite3.connect(journal)
    db.row_factory = sqlite3.Row
    try:
        return {r["id"]: dict(r) for r in db.execute("SELECT * FROM txns")}
    finally:
        db.close()


async def shop_day(term: Path) -> tuple[int, int]:
    """Batch 1: five sales, settled. Batch 2: SALES sales, a void and a refund, unsettled."""
    pos = open_pos(term)
    try:
        await pos.sign_on()
        first = pos.terminal.batch
        for i in range(5):
            assert (await pos.sale(PANS[i % 3], 1000 + i, expiry="3012")).approved
        assert (await pos.settle()).ok
        sales = [await pos.sale(PANS[i % 3], 2000 + 37 * i, expiry="3012") for i in range(SALES)]
        assert all(s.approved for s in sales)
        assert (await pos.void(sales[3].stan)).approved
        assert (await pos.refund(500, orig_batch=sales[4].batch, orig_stan=sales[4].stan)).approved
        return first, pos.terminal.batch
    finally:
        await pos.close()


def exists(path: str) -> bool:
    return Path(path).exists()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def txn_pages(journal: Path) -> tuple[int, list[int]]:
    """The txns table's root page, and the pages that hold transaction rows (their masked
    card numbers are there in text)."""
    db = sqlite3.connect(journal)
    try:
        [(root,)] = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'txns'")
    finally:
        db.close()
    data = journal.read_bytes()
    holding = [
        n + 1
        for n in range(len(data) // PAGE)
        if b"*********0128" in data[n * PAGE : (n + 1) * PAGE] and n + 1 != root
    ]
    return int(root), holding


def overwrite(journal: Path, pages: list[int], seed: int) -> None:
    rng = random.Random(seed)
    with journal.open("r+b") as f:
        for page in pages:
            f.seek((page - 1) * PAGE)
            f.write(rng.randbytes(PAGE))


async def test_export_keeps_every_record_with_cards_masked_and_no_secrets(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        settled, open_batch = await shop_day(term)
    out = tmp_path / "export.jsonl"
    summary = await run_json(term, "export", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    assert all(p not in text for p in PANS)
    assert "password_hash" not in text and '"key.' not in text and "pan_sealed" not in text
    records = lines(out)
    assert records[0]["record"] == "header" and records[0]["source"] == "journal"
    assert records[0]["format"] == "possettle-terminal-export" and records[0]["tid"]
    assert records[1]["record"] == "config" and records[1]["config"]["mid"]
    assert records[-1]["record"] == "summary"
    txns = [r for r in records if r["record"] == "txn"]
    original = read_txns(term / JOURNAL_FILE)
    assert [t["id"] for t in txns] == sorted(original)
    for t in txns:
        expected = {k: v for k, v in original[t["id"]].items() if k != "pan_sealed"}
        assert {k: v for k, v in t.items() if k not in ("record", "unsettled")} == expected
        assert t["unsettled"] is (t["batch"] == open_batch)
    assert summary["unsettled"]["transactions"] == SALES + 2
    assert summary["unsettled"]["sales"]["count"] == SALES
    assert summary["counts"]["txn"] == 5 + SALES + 2 and summary["rescue"] is None
    assert any(r["record"] == "settlement" and r["batch"] == settled for r in records)
    # A healthy journal is not "rescued": nothing is changed.
    refused = await run(term, "rescue", "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["refused"]["code"] == "rescue.not_damaged"
    assert read_txns(term / JOURNAL_FILE) == original


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda root, leaves: [root, leaves[1]], id="root-and-a-middle-leaf"),
        pytest.param(lambda root, leaves: [leaves[-1]], id="the-last-leaf"),
    ],
)
async def test_a_corrupt_journal_is_rescued_and_its_unsettled_batch_settles(
    tmp_path: Path, sqlite_url: str, damage: Callable[[int, list[int]], list[int]]
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        _, open_batch = await shop_day(term)
        journal = term / JOURNAL_FILE
        assert not exists(f"{journal}-wal")  # closed cleanly: all in the main file
        shutil.copy(journal, tmp_path / "before.db")
        original = read_txns(tmp_path / "before.db")
        unsettled = {i: t for i, t in original.items() if t["batch"] == open_batch}

        root, holding = txn_pages(journal)
        assert len(holding) >= 3, holding  # several leaves under an interior root
        overwrite(journal, damage(root, holding), seed=7)
        # The damage is named, with the way out, not taken for a software crash.
        broken = await run(term, "list", "--json")
        assert broken.exit_code == 1, broken.output
        error = json.loads(broken.stdout)
        assert error["type"] == "JournalCorrupt" and "export --rescue" in error["message"]["en"]
        assert "terminal rescue" in error["message"]["zh"]

        out = tmp_path / "rescue.jsonl"
        summary = await run_json(term, "export", "--rescue", "--out", str(out))
        rescue = summary["rescue"]
        records = lines(out)
        rescued = {r["id"]: r for r in records if r["record"] == "txn"}
        lost = set(original) - set(rescued)
        # One leaf's rows, no more: an append-only table keeps a run of ids on each leaf.
        assert 0 < len(lost) < len(unsettled) // 2
        assert lost == set(range(min(lost), max(lost) + 1))
        assert lost <= set(unsettled)  # the damaged leaf held batch 2's rows here
        # Nothing invented, nothing altered: every row read is the row journaled ...
        for i, r in rescued.items():
            expected = {k: v for k, v in original[i].items() if k != "pan_sealed"}
            assert {k: v for k, v in r.items() if k not in ("record", "unsettled")} == expected
        # ... and every row lost is reported: by the gap in the ids, and — a run at the end
        # leaves no gap — by the receipts the print queue still holds.
        gap = set(rescue["lost_ids"])
        assert gap <= lost and all(i > max(rescued) for i in lost - gap)
        assert rescue["transactions_lost"] == len(gap) == rescue["lost_maybe_unsettled"]
        by_receipt = {(r["batch"], r["voucher"]): r["amount"] for r in rescue["lost_receipts"]}
        assert by_receipt == {(original[i]["batch"], original[i]["stan"]): original[i]["amount"]
                              for i in lost}  # fmt: skip
        assert rescue["lost_receipts_amount"] == sum(original[i]["amount"] for i in lost)
        kept = [t for i, t in unsettled.items() if i not in lost]
        assert summary["unsettled"]["transactions"] == len(kept)
        sales = [t for t in kept if t["kind"] == "sale" and t["state"] == "approved"]
        assert summary["unsettled"]["sales"] == {
            "count": len(sales),
            "amount": sum(t["amount"] for t in sales),
        }
        lost_amount = sum(unsettled[i]["amount"] for i in lost)
        all_amount = sum(t["amount"] for t in unsettled.values())
        assert sum(t["amount"] for t in kept) + lost_amount == all_amount
        assert all(p not in out.read_text(encoding="utf-8") for p in PANS)
        said = (await run(term, "export", "--rescue", "--out", str(tmp_path / "r2.jsonl"))).stdout
        fen = rescue["lost_receipts_amount"]
        n, amount = len(lost), f"{fen // 100:,}.{fen % 100:02d}"
        assert f"Known only from their receipts (unsettled, not in the fresh journal): {n}" in said
        assert f"仅能从签购单得知（未结算，无法重建）：{n} 笔成功交易，CNY {amount}" in said

        rebuilt = await run_json(term, "rescue", "--out", str(tmp_path / "again.jsonl"))
        assert rebuilt["batch"] == open_batch
        assert exists(rebuilt["damaged_journal"])
        assert rebuilt["summary"]["unsettled"] == summary["unsettled"]
        listed = await run_json(term, "list")
        assert [t["voucher"] for t in listed["transactions"]] == [t["stan"] for t in kept]
        status = await run_json(term, "status")
        assert status["batch"] == open_batch and status["signed_on"] is False

        settled = await run_json(term, "settle")
        assert settled["ok"] is True, settled
        assert settled["batch"] == open_batch
        # The host approved the lost ones too: the totals differ, and the rescued detail goes up.
        assert settled["result"] == "balanced_after_upload"
        counted = [t for t in kept if t["kind"] in ("sale", "refund") and not t["voided"]]
        assert settled["uploaded"] == len(counted)
        after = await run_json(term, "status")
        assert after["batch"] == open_batch + 1
        sale = await run_json(
            term, "sale", "--amount", "1.00", "--pan", CUP_PAN, "--expiry", "3012"
        )
        assert sale["approved"] is True
        assert sale["stan"] > max(t["stan"] for t in original.values())


async def test_whatever_pages_are_damaged_no_row_is_invented_or_altered(
    tmp_path: Path, sqlite_url: str
) -> None:
    """Forty damages of one journal — garbage, zeroes, a page copied over another — and the
    rescue never raises, and every transaction it returns is exactly one that was journaled."""
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await shop_day(term)
    journal = term / JOURNAL_FILE
    original = read_txns(journal)
    data = journal.read_bytes()
    pages = len(data) // PAGE
    vault = Vault.load_or_create(term / KEY_FILE)
    lost_some = 0
    for seed in range(40):
        rng = random.Random(seed)
        damaged = bytearray(data)
        for page in rng.sample(range(pages), rng.randint(1, 3)):
            how = rng.choice(("garbage", "zeroes", "copy"))
            fill = {
                "garbage": rng.randbytes(PAGE),
                "zeroes": bytes(PAGE),
                "copy": data[(n := rng.randrange(pages)) * PAGE : (n + 1) * PAGE],
            }[how]
            damaged[page * PAGE : (page + 1) * PAGE] = fill
        copy = tmp_path / f"damaged-{seed}.db"
        copy.write_bytes(bytes(damaged))
        found = read_damaged(copy, vault)
        rows = found.table("txns")
        for r in rows:
            assert r == original[r["id"]], (seed, r["id"])
        lost_some += len(rows) < len(original)
    assert lost_some > 0  # the damage did reach transactions

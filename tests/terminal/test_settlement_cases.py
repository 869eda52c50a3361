"""Settlement as the merchant relies on it: out of balance, repeated, already closed at the host.

Every case ends with the host's ledger against the terminal's journal: nothing lost, nothing
counted twice, and each batch closed on both sides.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from possettle.terminal.config import JOURNAL_FILE
from possettle.terminal.journal.events import EventKind
from tests.host.harness import TID, register
from tests.terminal.faults import forget_at_host, host_view
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN, make_terminal, open_pos
from tests.terminal.scenario import (
    batch_row,
    exceptions,
    host_on_day,
    live_totals,
    terminal_totals,
    uploads,
)


async def test_unbalanced_half_is_uploaded_once_and_the_missing_entry_is_an_exception(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with host_on_day(db_url, key_file) as host:
        pos = open_pos(make_terminal(tmp_path / "t", host.port))
        try:
            await pos.sign_on()
            cup = [await pos.sale(p, 1000 + i, expiry="3012") for i, p in enumerate([CUP_PAN] * 3)]
            cup.append(await pos.sale(CUP_PAN_2, 2500, expiry="3012"))
            visa = await pos.sale(VISA_PAN, 4000, expiry="3012")
            assert all(r.approved for r in [*cup, visa])
            refund = await pos.refund(300, orig_batch=cup[0].batch, orig_stan=cup[0].stan)
            assert refund.approved
            batch = pos.status()["batch"]
            mine = terminal_totals(pos.status())

            lost = cup[1]
            forget_at_host(db_url, TID, lost.stan)  # the host restored an older backup
            report = await pos.settle()
        finally:
            await pos.close()

    assert report.ok, report.as_dict()
    assert report.result == "balanced_after_upload"
    # The domestic half is off. Every counted record of the batch goes up once (each carries
    # its card-organisation flag), so the host can match both halves and blames no one else.
    domestic = sorted([r.stan for r in cup] + [refund.stan])
    items = uploads(db_url, TID, batch)
    stans = [int(i["stan"]) for i in items]
    assert sorted(s for s, i in zip(stans, items, strict=True) if i["domestic"]) == domestic
    assert sorted(stans) == sorted([*domestic, visa.stan])
    assert report.uploaded == len(items)
    assert {int(i["stan"]): i["status"] for i in items}[lost.stan] == "missing_at_host"
    assert exceptions(db_url, TID) == [
        {"batch": batch, "stan": f"{lost.stan:06d}", "category": "missing_at_host", "amount": 1001}
    ]
    host_batch = batch_row(db_url, TID, batch)
    assert host_batch["status"] == "closed"
    assert (host_batch["result_domestic"], host_batch["result_foreign"]) == (2, 1)
    assert host_batch["uploaded_records"] == len(items)
    # The host's books are short by exactly the lost sale; the exception carries it.
    assert live_totals(db_url, TID, batch) == (mine[0] - 1001, mine[1] - 1, mine[2], mine[3])
    view = host_view(db_url, [tmp_path / "t"])
    assert view.lost == [] and view.duplicated == []
    assert view.exceptions == 1


async def test_settling_again_settles_the_next_empty_batch_and_leaves_the_closed_one(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        pos = open_pos(make_terminal(tmp_path / "t", host.port))
        try:
            await pos.sign_on()
            for pan in (CUP_PAN, VISA_PAN):
                assert (await pos.sale(pan, 1500, expiry="3012")).approved
            first = await pos.settle()
            assert first.ok and first.result == "balanced"
            closed = batch_row(sqlite_url, TID, first.batch)

            second = await pos.settle()
            assert second.ok, second.as_dict()
            assert second.batch == first.batch + 1
            assert second.result == "balanced"
            assert second.terminal_totals == "0" * 62
            assert pos.status()["batch"] == first.batch + 2
        finally:
            await pos.close()

    assert batch_row(sqlite_url, TID, first.batch) == closed
    assert batch_row(sqlite_url, TID, second.batch)["status"] == "closed"
    assert live_totals(sqlite_url, TID, second.batch) == (0, 0, 0, 0)
    view = host_view(sqlite_url, [tmp_path / "t"])
    assert view.lost == [] and view.duplicated == []


async def test_a_settlement_the_host_already_closed_ends_as_already_settled_without_upload(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            sales = [await pos.sale(p, 800, expiry="3012") for p in (CUP_PAN, CUP_PAN_2)]
            forget_at_host(sqlite_url, TID, sales[0].stan)
            first = await pos.settle()
            assert first.ok and first.result == "balanced_after_upload"
            closed = batch_row(sqlite_url, TID, first.batch)
        finally:
            await pos.close()

        # The terminal lost the record of that settlement (a journal restored from a copy
        # taken before it): batch 1 is open again on the terminal, closed at the host.
        db = sqlite3.connect(term / JOURNAL_FILE)
        with db:
            db.execute("DELETE FROM settlements WHERE batch = ?", (first.batch,))
            db.execute("UPDATE meta SET value = ? WHERE key = 'batch'", (str(first.batch),))
            db.execute("UPDATE txns SET uploaded = 0")
        db.close()

        pos = open_pos(term)
        try:
            assert pos.status()["batch"] == first.batch
            again = await pos.settle()
            assert again.ok, again.as_dict()
            assert again.batch == first.batch
            assert again.result == "already_settled"
            assert again.uploaded == 0
            assert pos.status()["batch"] == first.batch + 1
            # the 94 says the host closed batch 1 on exactly these totals (both halves 1)
            assert again.host_totals[30] == again.host_totals[61] == "1", again.host_totals
            assert again.host_totals[:30] == again.terminal_totals[:30]
            assert pos.journal.events(EventKind.SETTLE_UNCONFIRMED) == []
            events = pos.journal.events(EventKind.SETTLE_FAILED)
        finally:
            await pos.close()

    assert events == []
    assert batch_row(sqlite_url, TID, first.batch) == closed  # no second upload, no change
    assert len(uploads(sqlite_url, TID, first.batch)) == 2
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []

"""The doctor names the batch and reversal causes (软件): out of balance, batch number out
of step, a batch the host already closed, a reversal that cannot be delivered.

A terminal whose own batch number jumped to an empty batch mends itself: the 0500 of that
batch is answered ``77``, and the sign-on that follows drops that settlement (the host never
opened the batch) and takes the host's number, under which the day's sales then settle.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from possettle.sim.proxy import Direction, Faults
from possettle.terminal.journal.events import BatchAdoption, EventKind
from tests.doctor.harness import doctor, make_terminal, open_pos, settle, trade
from tests.doctor.scenes import (
    FAST,
    evidence,
    expect_top,
    host_current_batch,
    journal_meta,
    relay,
    set_timeout,
)
from tests.host.harness import TID, register, running_host
from tests.terminal.faults import forget_at_host
from tests.terminal.harness import CUP_PAN


async def test_a_host_that_lost_a_sale_is_out_of_balance_with_the_missing_trace_number(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        pos = open_pos(term)
        try:
            lost = pos.voidable()[1]
        finally:
            await pos.close()
        forget_at_host(sqlite_url, TID, lost)  # the host restored an older backup
        result = await settle(term)
        assert result["ok"] is True and result["result"] == "balanced_after_upload"

        report = await doctor(term, sqlite_url, fix=True)
    top = expect_top(report, "batch.out_of_balance", "software", "batch_upload")
    ev = evidence(top)
    assert ev["settlement.result"] == ["balanced_after_upload"]
    [breaks] = ev["recon_exceptions"]
    assert [(b["stan"], b["category"]) for b in breaks] == [  # type: ignore[attr-defined]
        (f"{lost:06d}", "missing_at_host")
    ]
    # The batch upload (the safe recovery) already ran inside the settlement; nothing is left
    # interrupted, the break itself goes to reconciliation.
    assert top.recovery is not None and top.recovery["result"] == "ok"


async def test_a_host_batch_out_of_step_is_a_sequence_mismatch_that_a_sign_on_mends(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        host_current_batch(sqlite_url, TID, 2)  # an operator moved the host's batch number
        result = await settle(term)
        assert result["ok"] is False
        assert result["failure"]["code"] == "77"  # type: ignore[index]

        report = await doctor(term, sqlite_url)
        top = expect_top(report, "batch.sequence_mismatch", "software", "settle")
        ev = evidence(top)
        assert ev["batch_mismatch"] == [{"local": 1, "host": 2}]
        assert ev["settle_failed"] == [{"step": "settle", "code": "77"}]

        host_current_batch(sqlite_url, TID, 1)  # put back
        report = await doctor(term, sqlite_url, fix=True)
        assert report.diagnoses[0].cause.id == "batch.sequence_mismatch"
        recovery = report.diagnoses[0].recovery
        assert recovery is not None and recovery["action"] == "sign_on"
        assert recovery["result"] == "ok", recovery
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()
    assert after.batch == 2


async def test_a_terminal_batch_number_that_jumped_is_mended_by_its_next_settlement(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        journal_meta(term, "batch", "3")  # the terminal's batch number jumped
        # Settling batch 3 (empty, never opened at the host) is answered 77; the sign-on that
        # follows takes the host's batch 1, which holds the day's sales, and settles that.
        result = await settle(term)
        assert result["ok"] is True, result
        assert (result["batch"], result["result"]) == (1, "balanced")
        notes = " ".join(result["notes"])  # type: ignore[arg-type]
        assert "batch 3 was empty" in notes and "批次 3" in notes
        pos = open_pos(term)
        try:
            assert pos.status()["batch"] == 2
            [adopted] = pos.journal.events(EventKind.BATCH_ADOPTED)
            assert adopted.detail == BatchAdoption(local=3, host=1)
        finally:
            await pos.close()
        assert host_current_batch(sqlite_url, TID) == 2
        report = await doctor(term, sqlite_url)
    assert report.ok, report.as_dict()  # mended: history, not a finding


@pytest.mark.parametrize("sold_after_backup", [False, True], ids=["same-totals", "other-totals"])
async def test_a_batch_the_host_already_closed_is_already_settled(
    tmp_path: Path, sqlite_url: str, sold_after_backup: bool
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        backup = tmp_path / "backup"
        shutil.copytree(term, backup)
        if sold_after_backup:
            await trade(term, sales=1)  # a sale the backup does not hold
        assert (await settle(term))["ok"] is True
        # The terminal is restored from the backup taken before the settlement: it holds
        # batch 1 open, which the host has closed.
        shutil.rmtree(term)
        shutil.copytree(backup, term)
        pos = open_pos(term)
        try:
            await pos.terminal.echo()  # a new trace number: the 0500 is not a repeat
        finally:
            await pos.close()
        result = await settle(term)
        assert result["ok"] is True and result["result"] == "already_settled"
        report = await doctor(term, sqlite_url, fix=True)
    if not sold_after_backup:
        # the 94 carried the totals the host settled on, and they are the terminal's
        assert result["notes"] == []
        assert report.ok and report.diagnoses == [], report.as_dict()
        return
    assert "confirm them with the acquirer" in " ".join(result["notes"])  # type: ignore[arg-type]
    top = expect_top(report, "batch.already_settled", "software", "settle")
    assert evidence(top)["settlement.result"] == ["already_settled"]
    assert top.recovery is not None and top.recovery["result"] == "ok"


async def test_a_reversal_that_cannot_be_delivered_is_stuck_until_the_line_carries_it(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host, relay(host.port) as proxy:
        term = make_terminal(tmp_path / "t", proxy.port, reversal_attempts=3)
        await trade(term, sales=3)
        proxy.faults = Faults(drop=1.0, direction=Direction.DOWN)  # replies are lost
        set_timeout(term, FAST)
        pos = open_pos(term)
        try:
            sale = await pos.sale(CUP_PAN, 700, expiry="3012", allow_offline=False)
            assert sale.state.value == "pending"  # a reversal is queued
        finally:
            await pos.close()
        for _ in range(3):
            result = await settle(term)
            assert result["ok"] is False and result["failure"]["step"] == "reversal"  # type: ignore[index]

        # While the line drops every reply, the line is the cause and the stuck reversal
        # its consequence: both are named, the network first.
        report = await doctor(term, sqlite_url)
        named = [d.cause.id for d in report.diagnoses]
        assert named[:2] == ["network.unstable", "reversal.stuck"], named

        proxy.faults = Faults()  # the line carries again; the reversal is still pending
        set_timeout(term)
        report = await doctor(term, sqlite_url)
        top = expect_top(report, "reversal.stuck", "software", "reversal")
        ev = evidence(top)
        assert {"stan": sale.stan, "attempts": 3} in ev["pending_reversal"]
        assert ev["reversal_stuck"][0]["stan"] == sale.stan  # type: ignore[index]

        report = await doctor(term, sqlite_url, fix=True)
        assert report.diagnoses[0].cause.id == "reversal.stuck"
        recovery = report.diagnoses[0].recovery
        assert recovery is not None and recovery["action"] == "send_reversals"
        assert recovery["result"] == "ok", recovery
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()
    assert after.batch == 2

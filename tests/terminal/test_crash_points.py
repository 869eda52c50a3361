"""Power cuts at named crash points: the next command resumes and the money is exact.

Each case kills a real ``possettle terminal`` process with ``POSSETTLE_CRASH_AT`` (it dies by
``os._exit``: no cleanup), runs the command again, and checks against the host's ledger that
nothing was lost, nothing counted twice, every record uploaded once and the batch closed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from possettle.terminal.crashpoints import EXIT_STATUS
from tests.host.harness import TID, register, running_host
from tests.terminal.faults import cli, forget_at_host, host_batch, host_view
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN, make_terminal, open_pos

SETTLE_POINTS = [
    "journal.settle_begin.after",
    "journal.settle_intent.after",
    "send.settlement.after",
    "recv.settlement.after",
    "journal.settle_reply.before",
    "journal.upload_intent.after",
    "send.batch_upload.after",
    "recv.batch_upload.after",
    "journal.upload_marked.before",
    "journal.upload_marked.after:2",
    "journal.upload_end_intent.after",
    "send.upload_end.after",
    "recv.upload_end.after",
    "journal.upload_end_reply.after",
    "journal.slip_queued.before",
    "journal.slip_queued.after",
    "journal.batch_closed.before",
    "journal.batch_closed.after",
]
SALE_POINTS = [
    "journal.txn_intent.before",
    "journal.txn_intent.after",
    "send.sale.before",
    "send.sale.after",
    "recv.sale.after",
    "journal.txn_outcome.before",
    "journal.txn_outcome.after",
]


async def _day(directory: Path, sales: int = 11) -> int:
    """Sign on and take ``sales`` sales (CUP, CUP, foreign, …)."""
    pos = open_pos(directory)
    try:
        await pos.sign_on()
        pans = [CUP_PAN, CUP_PAN_2, VISA_PAN]
        for i in range(sales):
            r = await pos.sale(pans[i % 3], 100 + i, expiry="3012")
            assert r.approved
        return sales
    finally:
        await pos.close()


@pytest.mark.parametrize("point", SETTLE_POINTS)
async def test_settlement_resumes_after_power_cut(
    tmp_path: Path, sqlite_url: str, point: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        counted = await _day(term)
        # The host loses one domestic sale: unbalanced, so every record of the batch goes up.
        forget_at_host(sqlite_url, TID, 5)

        crashed = await cli(term, "settle", crash_at=point)
        assert crashed.code == EXIT_STATUS, crashed.stderr

        # The merchant presses "settle" again. Batch 1's settlement resumes, unless the cut came
        # after it was closed: then this settles the next (empty) batch.
        resumed = await cli(term, "settle")
        assert resumed.code == 0, resumed.stdout + resumed.stderr
        report = resumed.json()
        assert report["ok"] is True
        closed_before = point == "journal.batch_closed.after"
        assert report["batch"] == (2 if closed_before else 1)
        if not closed_before:
            assert report["result"] in ("balanced_after_upload", "already_settled")

        status, uploads = host_batch(sqlite_url, TID, 1)
        assert status == "closed"
        assert uploads == counted  # every record once, none twice
        view = host_view(sqlite_url, [term])
        assert view.lost == [] and view.duplicated == []
        status = (await cli(term, "status")).json()
        assert status["batch"] == (3 if closed_before else 2)
        assert status["print_queue"] == 0  # the slip printed, late or not


@pytest.mark.parametrize("point", SALE_POINTS)
async def test_sale_interrupted_anywhere_is_never_lost_or_doubled(
    tmp_path: Path, sqlite_url: str, point: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await _day(term, sales=2)
        args = ("sale", "--amount", "9.99", "--pan", CUP_PAN, "--expiry", "3012")
        crashed = await cli(term, *args, crash_at=point)
        assert crashed.code == EXIT_STATUS, crashed.stderr

        after = await cli(term, *args)  # the next command resolves the interrupted one first
        assert after.code == 0, after.stdout + after.stderr
        status = (await cli(term, "status")).json()
        assert status["pending_reversals"] == []

        settled = await cli(term, "settle")
        assert settled.code == 0, settled.stdout + settled.stderr
        assert settled.json()["result"] == "balanced"
        view = host_view(sqlite_url, [term])
        assert view.lost == [] and view.duplicated == []

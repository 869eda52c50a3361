"""Power cuts at every named crash point of a sale, a void, a refund and a settlement.

Each case kills a real ``possettle terminal`` process with ``POSSETTLE_CRASH_AT`` (it dies by
``os._exit``: no cleanup), then restarts: the next command resumes the interrupted work, the
batch settles, and the host's ledger is checked against the journal — nothing lost, nothing
counted twice, every record uploaded once, the batch closed.

"Every" is checked, not assumed: ``test_the_cases_cover_every_point_an_operation_passes`` runs
each operation with ``POSSETTLE_CRASH_TRACE`` and compares the points it passed with the lists
below, so a new crash point in the code fails here until it is tested.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from possettle.terminal.crashpoints import EXIT_STATUS, TRACE_ENV
from tests.host.harness import TID, register, running_host
from tests.terminal.faults import cli, forget_at_host, host_batch, host_view
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN, make_terminal, open_pos


def _txn_points(kind: str) -> list[str]:
    return [
        "journal.txn_intent.before",
        "journal.txn_intent.after",
        f"send.{kind}.before",
        f"send.{kind}.after",
        f"recv.{kind}.after",
        "journal.txn_outcome.before",
        "journal.txn_outcome.after",
        "journal.receipt_queued.before",
        "journal.receipt_queued.after",
        "journal.printed.before",
        "journal.printed.after",
    ]


SETTLE_POINTS = [
    f"journal.{w}.{side}" for w in ("settle_begin", "settle_intent") for side in ("before", "after")
] + [
    "send.settlement.before",
    "send.settlement.after",
    "recv.settlement.after",
    "journal.settle_reply.before",
    "journal.settle_reply.after",
    "journal.upload_intent.before",
    "journal.upload_intent.after",
    "send.batch_upload.before",
    "send.batch_upload.after",
    "recv.batch_upload.after",
    "journal.upload_marked.before",
    "journal.upload_marked.after",
    "journal.upload_end_intent.before",
    "journal.upload_end_intent.after",
    "send.upload_end.before",
    "send.upload_end.after",
    "recv.upload_end.after",
    "journal.upload_end_reply.before",
    "journal.upload_end_reply.after",
    "journal.slip_queued.before",
    "journal.slip_queued.after",
    "journal.batch_closed.before",
    "journal.batch_closed.after",
    "journal.printed.before",
    "journal.printed.after",
]
COMMANDS: dict[str, tuple[str, ...]] = {
    "sale": ("sale", "--amount", "9.99", "--pan", CUP_PAN, "--expiry", "3012"),
    "void": ("void", "--stan", "3"),
    "refund": ("refund", "--amount", "0.50", "--orig-batch", "1", "--orig-stan", "4"),
    "settle": ("settle",),
}
POINTS = {
    "sale": _txn_points("sale"),
    "void": _txn_points("void"),
    "refund": _txn_points("refund"),
    # the second chunk's mark too: a cut between two 0320s
    "settle": [*SETTLE_POINTS, "journal.upload_marked.after:2", "send.batch_upload.after:2"],
}
CASES = [(op, point) for op, points in POINTS.items() for point in points]
SALES = 11  # STANs 2–12 after the sign-on; 8 + 3 records: two 0320s when unbalanced


async def _setup(tmp_path: Path, url: str, port: int, op: str) -> Path:
    term = make_terminal(tmp_path / "t", port)
    pos = open_pos(term)
    try:
        await pos.sign_on()
        for i in range(SALES):
            r = await pos.sale([CUP_PAN, CUP_PAN_2, VISA_PAN][i % 3], 100 + i, expiry="3012")
            assert r.approved
    finally:
        await pos.close()
    if op == "settle":
        # The host loses one domestic sale: unbalanced, so every record of the batch goes up.
        forget_at_host(url, TID, 5)
    return term


async def _settled_and_exact(term: Path, url: str) -> dict[str, object]:
    """Restart (a new Pos on the same directory), settle, and check the money."""
    pos = open_pos(term)
    try:
        assert pos.journal.unclean  # the dead process left its open marker behind
        report = (await pos.settle()).as_dict()
        assert report["ok"] is True, report
        status = pos.status()
        assert status["pending_reversals"] == []
        assert status["print_queue"] == 0  # every slip and receipt printed, late or not
    finally:
        await pos.close()
    view = host_view(url, [term])
    assert view.lost == [] and view.duplicated == []
    return report


@pytest.mark.parametrize(("op", "point"), CASES, ids=[f"{o}-{p}" for o, p in CASES])
async def test_a_power_cut_resumes_exactly(
    tmp_path: Path, sqlite_url: str, op: str, point: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = await _setup(tmp_path, sqlite_url, host.port, op)
        crashed = await cli(term, *COMMANDS[op], crash_at=point)
        assert crashed.code == EXIT_STATUS, crashed.stdout + crashed.stderr

        if op != "settle":
            report = await _settled_and_exact(term, sqlite_url)
            assert report["batch"] == 1
            assert report["result"] == "balanced"
            return

        # The merchant presses "settle" again: batch 1's settlement resumes, unless the cut
        # came after it closed; then this settles the next (empty) batch.
        closed_before = point in ("journal.batch_closed.after", "journal.printed.before",
                                  "journal.printed.after")  # fmt: skip
        report = await _settled_and_exact(term, sqlite_url)
        assert report["batch"] == (2 if closed_before else 1)
        status, uploads = host_batch(sqlite_url, TID, 1)
        assert status == "closed"
        assert uploads == SALES  # every record once, none twice


@pytest.mark.parametrize("op", list(COMMANDS))
async def test_the_cases_cover_every_point_an_operation_passes(
    tmp_path: Path, sqlite_url: str, op: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = await _setup(tmp_path, sqlite_url, host.port, op)
        trace = tmp_path / "trace"
        monkeypatch.setenv(TRACE_ENV, str(trace))
        run = await cli(term, *COMMANDS[op])
        assert run.code == 0, run.stdout + run.stderr
    passed = trace.read_text().split()
    assert os.environ.get("POSSETTLE_CRASH_AT") is None
    assert set(passed) == {p.split(":")[0] for p in POINTS[op]}

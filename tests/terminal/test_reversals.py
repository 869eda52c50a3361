"""No reply in time: the sale is reversed before anything else, and never counted twice.

The issuer simulator answers one amount slower than the terminal waits. The terminal's 0200
times out with its fate unknown, so the reversal (reason 98, recorded before the 0200 left)
goes first on the next online command. The host's late approval reaches no one: it is either
reversed in the ledger (it was booked first) or declined because the reversal came first.
"""

from __future__ import annotations

from pathlib import Path

from possettle.link.failure import LinkFailure
from possettle.terminal.journal import queries as q
from tests.host.harness import TID, register
from tests.terminal.faults import host_view
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, make_terminal, open_pos
from tests.terminal.scenario import (
    host_on_day,
    ledger,
    live_totals,
    point_at,
    rules_file,
    stored_code,
    terminal_totals,
    wait_for_host,
)

SLOW = 7_777
SLOW_ISSUER = f"""
[[rules]]
kind = "sale"
min_amount = {SLOW}
max_amount = {SLOW}
latency_ms = 8000
"""
# The terminal's read timeout: well under the issuer's 8 s, and well over a normal reply even on
# a loaded 2-core CI machine (1.5 s once timed out a settlement there).
TIMEOUT = 4.0


async def test_a_sale_without_reply_is_reversed_first_and_the_late_approval_never_counts(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    issuer = rules_file(tmp_path, SLOW_ISSUER)
    async with host_on_day(db_url, key_file, issuer=issuer) as host:
        term = make_terminal(tmp_path / "t", host.port, timeout=TIMEOUT)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            before = await pos.sale(CUP_PAN, 1000, expiry="3012")
            slow = await pos.sale(CUP_PAN_2, SLOW, expiry="3012")
            assert not slow.approved
            assert (slow.state.value, slow.code) == ("pending", "")
            status = pos.status()
            assert status["pending_reversals"] == [
                {"batch": slow.batch, "stan": slow.stan, "reason": "98", "attempts": 0}
            ]
            assert terminal_totals(status) == (1000, 1, 0, 0)  # an unknown fate is not money

            # The host's approval arrives after the terminal gave up: it was booked, and
            # answered to a connection no one reads any more.
            assert await wait_for_host(db_url, TID, slow.batch, slow.stan, "0200") == "00"
            assert [e["kind"] for e in ledger(db_url, TID)] == ["sale", "sale"]

            after = await pos.sale(CUP_PAN, 500, expiry="3012")
            assert after.approved
            status = pos.status()
            assert status["pending_reversals"] == []
            row = q.find_txn(pos.journal.conn, slow.batch, slow.stan)
            assert row is not None and row.state.value == "reversed"
            mine = terminal_totals(status)
            report = await pos.settle()
        finally:
            await pos.close()

    # The reversal went before the next sale, and the late approval is reversed at the host.
    entries = ledger(db_url, TID)
    assert [(int(e["stan"]), e["kind"], e["reversed"]) for e in entries] == [
        (before.stan, "sale", False),
        (slow.stan, "sale", True),
        (slow.stan, "reversal", False),
        (after.stan, "sale", False),
    ]
    assert mine == (1500, 2, 0, 0)
    assert report.ok and report.result == "balanced", report.as_dict()
    assert live_totals(db_url, TID, report.batch) == mine
    view = host_view(db_url, [term])
    assert view.lost == [] and view.duplicated == []


async def test_a_reversal_that_overtakes_its_sale_makes_the_host_decline_it(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    issuer = rules_file(tmp_path, SLOW_ISSUER)
    async with host_on_day(sqlite_url, key_file, issuer=issuer) as host:
        term = make_terminal(tmp_path / "t", host.port, timeout=TIMEOUT)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            slow = await pos.sale(CUP_PAN, SLOW, expiry="3012")
            assert slow.state.value == "pending"
            # The merchant tries again at once, while the issuer is still thinking: the
            # reversal goes first and finds no original (25: done for the terminal).
            again = await pos.sale(CUP_PAN, SLOW - 1, expiry="3012")
            assert again.approved
            assert stored_code(sqlite_url, TID, slow.batch, slow.stan, "0400") == "25"
            # The issuer's late approval then meets the recorded reversal: declined, undone.
            assert await wait_for_host(sqlite_url, TID, slow.batch, slow.stan, "0200") == "12"
            row = q.find_txn(pos.journal.conn, slow.batch, slow.stan)
            assert row is not None and row.state.value == "reversed"
            assert pos.status()["pending_reversals"] == []
            report = await pos.settle()
        finally:
            await pos.close()

    assert [(int(e["stan"]), e["kind"]) for e in ledger(sqlite_url, TID)] == [(again.stan, "sale")]
    assert report.ok and report.result == "balanced", report.as_dict()
    assert live_totals(sqlite_url, TID, report.batch) == (SLOW - 1, 1, 0, 0)
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []


async def test_a_reversal_the_host_cannot_take_yet_stays_first_and_blocks_settlement(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    issuer = rules_file(tmp_path, SLOW_ISSUER)
    async with host_on_day(sqlite_url, key_file, issuer=issuer) as host:
        term = make_terminal(tmp_path / "t", host.port, timeout=TIMEOUT)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            slow = await pos.sale(CUP_PAN, SLOW, expiry="3012")
            assert slow.state.value == "pending"
            await wait_for_host(sqlite_url, TID, slow.batch, slow.stan, "0200")
        finally:
            await pos.close()

    # The host is gone: the settlement stops at the reversal step, nothing is closed.
    pos = open_pos(term)
    try:
        stuck = await pos.settle()
        assert not stuck.ok
        assert stuck.step.value == "reversal"
        assert stuck.failure is not None and stuck.failure["link"] is True
        assert stuck.failure["link_failure"] is LinkFailure.REFUSED  # nothing listens there
        assert len(pos.status()["pending_reversals"]) == 1
    finally:
        await pos.close()

    async with host_on_day(sqlite_url, key_file, issuer=issuer) as host:
        point_at(term, host.port)
        pos = open_pos(term)
        try:
            done = await pos.settle()
            assert done.ok and done.result == "balanced", done.as_dict()
            assert done.batch == slow.batch
            assert pos.status()["pending_reversals"] == []
        finally:
            await pos.close()

    assert [(e["kind"], e["reversed"]) for e in ledger(sqlite_url, TID)] == [
        ("sale", True),
        ("reversal", False),
    ]
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []


SLOW_VOID = f"""
[[rules]]
kind = "void"
min_amount = {SLOW}
max_amount = {SLOW}
latency_ms = 8000
"""


async def test_a_void_without_reply_is_reversed_and_the_sale_counts_again(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    issuer = rules_file(tmp_path, SLOW_VOID)
    async with host_on_day(sqlite_url, key_file, issuer=issuer) as host:
        term = make_terminal(tmp_path / "t", host.port, timeout=TIMEOUT)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            sale = await pos.sale(CUP_PAN, SLOW, expiry="3012")
            assert sale.approved
            void = await pos.void(sale.stan)
            assert (void.state.value, void.code) == ("pending", "")
            assert [r["stan"] for r in pos.status()["pending_reversals"]] == [void.stan]
            assert await wait_for_host(sqlite_url, TID, void.batch, void.stan, "0200") == "00"

            other = await pos.sale(CUP_PAN_2, 100, expiry="3012")  # the reversal goes first
            assert other.approved
            rows = {r.stan: r for r in q.batch_txns(pos.journal.conn, sale.batch)}
            assert rows[void.stan].state.value == "reversed"
            assert rows[sale.stan].state.value == "approved" and not rows[sale.stan].voided
            assert pos.voidable() == [sale.stan, other.stan]
            mine = terminal_totals(pos.status())
            report = await pos.settle()
        finally:
            await pos.close()

    assert [
        (int(e["stan"]), e["kind"], e["voided"], e["reversed"]) for e in ledger(sqlite_url, TID)
    ] == [
        (sale.stan, "sale", False, False),
        (void.stan, "void", False, True),
        (void.stan, "reversal", False, False),
        (other.stan, "sale", False, False),
    ]
    assert mine == (SLOW + 100, 2, 0, 0)
    assert report.ok and report.result == "balanced", report.as_dict()
    assert live_totals(sqlite_url, TID, report.batch) == mine
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []


SLOW_REFUND = f"""
[[rules]]
kind = "refund"
min_amount = {SLOW}
max_amount = {SLOW}
latency_ms = 8000
"""


async def test_a_refund_without_reply_is_repeated_until_answered_and_booked_once(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    issuer = rules_file(tmp_path, SLOW_REFUND)
    async with host_on_day(sqlite_url, key_file, issuer=issuer) as host:
        term = make_terminal(tmp_path / "t", host.port, timeout=TIMEOUT)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            sale = await pos.sale(CUP_PAN, 2 * SLOW, expiry="3012")
            refund = await pos.refund(SLOW, orig_batch=sale.batch, orig_stan=sale.stan)
            # A 0220 is not reversed: no reversal, it is simply asked again (§5).
            assert (refund.state.value, refund.code) == ("pending", "")
            assert pos.status()["pending_reversals"] == []
            assert await wait_for_host(sqlite_url, TID, refund.batch, refund.stan, "0220") == "00"

            other = await pos.sale(CUP_PAN_2, 100, expiry="3012")  # the repeat goes first
            assert other.approved
            row = q.find_txn(pos.journal.conn, refund.batch, refund.stan)
            assert row is not None and row.state.value == "approved"
            mine = terminal_totals(pos.status())
            report = await pos.settle()
        finally:
            await pos.close()

    assert [(int(e["stan"]), e["kind"]) for e in ledger(sqlite_url, TID)] == [
        (sale.stan, "sale"),
        (refund.stan, "refund"),
        (other.stan, "sale"),
    ]
    assert mine == (2 * SLOW + 100, 2, SLOW, 1)
    assert report.ok and report.result == "balanced", report.as_dict()
    assert live_totals(sqlite_url, TID, report.batch) == mine
    view = host_view(sqlite_url, [term])
    assert view.lost == [] and view.duplicated == []

"""The doctor names external causes (外部): a power cut mid-settlement, a region that lost the
host together, and — when nothing it can see explains a failure — says so, with what it
ruled out, instead of calling the terminal healthy."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

from possettle.sim.proxy import Direction, Faults
from possettle.terminal.config import JOURNAL_FILE
from possettle.terminal.crashpoints import EXIT_STATUS
from tests.doctor.harness import doctor, make_terminal, open_pos, settle, trade
from tests.doctor.scenes import (
    FAST,
    SLOW_HOST,
    Member,
    blackhole,
    evidence,
    expect_top,
    freeze_settlement_at_the_acquirer,
    register_fleet,
    relay,
    set_timeout,
)
from tests.host.harness import TID, register, running_host
from tests.terminal.faults import cli
from tests.terminal.scenario import point_at


async def test_a_power_cut_mid_settlement_is_power_and_the_settlement_resumes(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        # the power goes once the upload end has left, before its reply is journaled
        run = await cli(term, "settle", crash_at="send.upload_end.after")
        assert run.code == EXIT_STATUS, run.stdout + run.stderr

        report = await doctor(term, sqlite_url)
        top = expect_top(report, "power.interrupted", "external", "upload_end")
        assert evidence(top)["unclean_shutdown"] == [True]
        assert "software.crash" not in [d.cause.id for d in report.diagnoses[:1]]

        report = await doctor(term, sqlite_url, fix=True)
        recovery = report.diagnoses[0].recovery
        assert recovery is not None and recovery["action"] == "resume_settlement"
        assert recovery["result"] == "ok", recovery
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()
    assert after.batch == 2


async def test_a_power_cut_in_an_earlier_batch_is_history_when_the_next_one_fails(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host, relay(host.port) as proxy:
        term = make_terminal(tmp_path / "t", proxy.port)
        await trade(term)
        run = await cli(term, "settle", crash_at="send.settlement.after")
        assert run.code == EXIT_STATUS, run.stdout + run.stderr
        assert (await settle(term))["ok"] is True  # batch 1 resumed and settled
        await trade(term)
        proxy.faults = Faults(drop=1.0, direction=Direction.DOWN)
        set_timeout(term, FAST)
        assert (await settle(term))["ok"] is False  # batch 2: the host's replies are lost
        proxy.faults = Faults()
        set_timeout(term)
        # The journal stamps whole seconds: the stop can share the second the next
        # settlement began in, as on a fast day. It must still count as batch 1's history.
        with sqlite3.connect(term / JOURNAL_FILE) as conn:
            conn.execute(
                "UPDATE events SET at = (SELECT started_at FROM settlements WHERE batch = 2)"
                " WHERE kind = 'unclean_shutdown'"
            )
        conn.close()
        report = await doctor(term, sqlite_url)
    expect_top(report, "network.unstable", "software", "settle")
    assert "power.interrupted" not in [d.cause.id for d in report.diagnoses]


DARK_AFTER = timedelta(seconds=1)


async def test_a_region_that_lost_the_host_together_is_a_region_outage(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    north = [Member(f"1000000{n}", "north") for n in range(3)]
    south = Member("20000000", "south")
    await register_fleet(sqlite_url, key_file, [*north, south])
    async with running_host(sqlite_url, key_file) as host:
        terms = {
            m.tid: make_terminal(tmp_path / m.tid, host.port, tid=m.tid, region=m.region)
            for m in [*north, south]
        }  # fmt: skip
        for term in terms.values():
            await trade(term, sales=2)
        with blackhole() as dead:
            for m in north:  # the carrier serving the north drops everything
                point_at(terms[m.tid], dead)
                set_timeout(terms[m.tid], FAST)
            await asyncio.sleep(DARK_AFTER.total_seconds() * 1.5)
            pos = open_pos(terms[south.tid])
            try:
                await pos.terminal.echo()  # the south still talks to the host
            finally:
                await pos.close()
            first = terms[north[0].tid]
            assert (await settle(first))["ok"] is False

            report = await doctor(first, sqlite_url, dark_after=DARK_AFTER)
            top = expect_top(report, "region.outage", "external", "settle")
            assert evidence(top)["region.dark"] == [{"region": "north", "dark": 2, "of": 2}]
            assert "link.down" not in [d.cause.id for d in report.diagnoses[:1]]
            # the south terminal is not dragged in
            south_report = await doctor(terms[south.tid], sqlite_url, dark_after=DARK_AFTER)
            assert south_report.diagnoses == [], south_report.as_dict()

        point_at(first, host.port)  # the region is back
        set_timeout(first)
        report = await doctor(first, sqlite_url, fix=True, dark_after=DARK_AFTER)
        recovery = report.diagnoses[0].recovery if report.diagnoses else None
        assert recovery is not None and recovery["action"] == "resume_settlement"
        assert recovery["result"] == "ok", recovery
        after = await doctor(first, sqlite_url, dark_after=DARK_AFTER)
    assert after.ok, after.as_dict()


async def test_a_failure_nothing_explains_is_undetected_with_what_was_ruled_out(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        # The host renders the failed write's traceback before it answers (2-3 s on a busy
        # machine): the terminal waits long enough to hear the 96.
        term = make_terminal(tmp_path / "t", host.port, timeout=SLOW_HOST)
        await trade(term)
        freeze_settlement_at_the_acquirer(sqlite_url, TID)
        result = await settle(term)
        assert result["ok"] is False
        assert result["failure"]["code"] == "96"  # type: ignore[index]

        report = await doctor(term, sqlite_url, fix=True)
    [only] = report.diagnoses
    top = expect_top(report, "external.undetected", "external", "settle")
    assert top is only
    assert evidence(top)["settle_failed"] == [{"step": "settle", "code": "96"}]
    ruled = set(top.ruled_out)
    # what the probes and the host's view found healthy is listed as ruled out
    for healthy in ("link.down", "host.unreachable", "network.unstable", "printer.paper_out",
                    "storage.corrupt", "keys.out_of_sync", "terminal.unregistered",
                    "software.outdated", "power.interrupted", "issuer.unavailable"):  # fmt: skip
        assert healthy in ruled, (healthy, sorted(ruled))
    assert top.recovery is None
    assert "TID" in top.cause.remedy.en and "终端号" in top.cause.remedy.zh
    assert report.ok is False

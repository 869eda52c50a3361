"""The terminal core keeps the host informed itself (terminal/informer.py), against a real host.

The terminal runs on a :class:`FixedClock` that moves only when the test says, so "60 s idle"
is exact; the host is real, and so are its ledger's ``last_seen_at`` and stored reports.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from possettle.clock import FixedClock
from possettle.doctor.facts import read_journal
from possettle.doctor.probes import LinkProbe
from possettle.doctor.signals import Inputs, collect
from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import terminal_reports, terminals
from possettle.link.failure import LinkFailure
from possettle.sim.proxy import AdversityProxy, Direction, Faults
from possettle.status_report import StatusReport
from possettle.terminal.config import JOURNAL_FILE
from possettle.terminal.crashpoints import CrashPoints
from possettle.terminal.informer import Informer, Sent
from possettle.terminal.journal.events import LinkCameUp, LinkWentDown
from possettle.terminal.keepalive import LINK_SINCE, Duty, LinkState, Transition, Via
from possettle.terminal.pos import Pos
from possettle.terminal.scheduled_report import keep_verdict
from tests.host.harness import TID, RunningHost, register
from tests.terminal.faults import cli
from tests.terminal.harness import CUP_PAN, DAYTIME, make_terminal
from tests.terminal.relay import Relay, mac_relay
from tests.terminal.scenario import host_on_day

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
ECHO, REPORT = "0820/301", "0820/362"


@pytest.fixture
async def host(tmp_path: Path, sqlite_url: str) -> AsyncIterator[RunningHost]:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with host_on_day(sqlite_url, key_file) as running:
        yield running


def _engine_do(url: str, stmt: sa.Executable) -> list[sa.Row[object]]:
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(stmt)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def last_seen(url: str) -> datetime | None:
    [(at,)] = _engine_do(url, sa.select(terminals.c.last_seen_at).where(terminals.c.tid == TID))
    return None if at is None else at.replace(tzinfo=at.tzinfo or UTC)


def seen_long_ago(url: str) -> None:
    _engine_do(
        url, sa.update(terminals).where(terminals.c.tid == TID).values(last_seen_at=LONG_AGO)
    )


def stored_report(url: str) -> StatusReport | None:
    rows = _engine_do(
        url, sa.select(terminal_reports.c.report).where(terminal_reports.c.tid == TID)
    )
    return StatusReport.read(str(rows[0][0])) if rows else None


def sent(relay: Relay) -> list[str]:
    """Requests as ``MTI/60.3`` (0820/301 an echo, 0820/362 a status report) and STAN."""
    return [f"{s.mti}/{s.net}" for s in relay.seen if s.up]


def stans(relay: Relay) -> list[int]:
    return [int(s.stan) for s in relay.seen if s.up]


def link_events(pos: Pos) -> list[LinkWentDown | LinkCameUp]:
    """The keep-alive's events, oldest first, read back through the journal's schema (a row
    that did not fit its kind would read as legacy and be missing here)."""
    details = [e.detail for e in reversed(pos.journal.events())]
    return [d for d in details if isinstance(d, LinkWentDown | LinkCameUp)]


def doctor_signals(directory: Path, clock: FixedClock) -> dict[str, list[object]]:
    """The keep-alive signals the doctor reads from the journal (no probe, no host view)."""
    facts = read_journal(directory, clock.now())
    inputs = Inputs(facts, "unknown", "unknown", LinkProbe(connect="skipped"), None, clock.now())
    seen = collect(inputs).seen
    return {k: [e.value for e in v] for k, v in seen.items() if k.startswith("keepalive.")}


def terminal_at(tmp_path: Path, port: int, **config: object) -> tuple[Pos, FixedClock]:
    clock = FixedClock(DAYTIME)
    config.setdefault("echo_idle_s", 60.0)
    config.setdefault("status_report_s", 900.0)
    directory = make_terminal(tmp_path / "t", port, **config)
    return Pos.open(directory, clock=clock), clock


async def test_an_idle_terminal_echoes_only_after_the_idle_interval_and_the_host_sees_it(
    tmp_path: Path, host: RunningHost
) -> None:
    async with mac_relay(host.port) as relay:
        pos, clock = terminal_at(tmp_path, relay.port)
        try:
            informer = Informer(pos.terminal)
            seen_long_ago(host.config.db_url)
            clock.advance(59.9)
            assert await informer.step() is None
            assert sent(relay) == []
            clock.advance(0.1)
            echo = await informer.step()
            assert echo == Sent(
                Duty.ECHO, "00", None, Transition(LinkState.UNKNOWN, LinkState.UP, Via.ECHO)
            )
            assert sent(relay) == [ECHO]
            seen = last_seen(host.config.db_url)
            assert seen is not None and seen > LONG_AGO  # the host heard from it
            assert await informer.step() is None  # the echo itself restarted the idle time
            clock.advance(60)
            await informer.step()
            assert sent(relay) == [ECHO, ECHO]
            assert pos.status()["link"] == "up"
        finally:
            await pos.close()


async def test_echo_stans_come_from_the_journal_and_never_collide_with_transactions(
    tmp_path: Path, host: RunningHost
) -> None:
    async with mac_relay(host.port) as relay:
        pos, clock = terminal_at(tmp_path, relay.port)
        try:
            informer = Informer(pos.terminal)
            await pos.sign_on()
            sale = await pos.sale(CUP_PAN, 1200, expiry="3012", pin="123456")
            clock.advance(60)
            await informer.step()
            second = await pos.sale(CUP_PAN, 1300, expiry="3012", pin="123456")
            assert sent(relay) == ["0800/003", "0200/000", ECHO, "0200/000"]
            assert stans(relay) == [1, sale.stan, sale.stan + 1, second.stan]
            assert second.stan == sale.stan + 2
        finally:
            await pos.close()


async def test_no_echo_goes_out_while_a_transaction_is_in_progress(
    tmp_path: Path, host: RunningHost
) -> None:
    """The informer looks while a sale waits for its reply: an echo is overdue, none is sent."""
    async with mac_relay(host.port) as relay:
        clock = FixedClock(DAYTIME)
        looks: list[asyncio.Task[tuple[int, Sent | None]]] = []
        informer: Informer | None = None

        async def look() -> tuple[int, Sent | None]:
            assert informer is not None
            return pos.terminal.activity.busy, await informer.step()

        def mid_sale() -> None:  # at send.sale.after: the sale is on the wire
            looks.append(asyncio.get_running_loop().create_task(look()))

        directory = make_terminal(tmp_path / "t", relay.port)
        pos = Pos.open(directory, clock=clock, crash=CrashPoints(("send.sale.after", 1), mid_sale))
        try:
            informer = Informer(pos.terminal)
            await pos.sign_on()
            clock.advance(61)  # idle past the interval: an echo would be due now
            sale = await pos.sale(CUP_PAN, 1200, expiry="3012", pin="123456")
            assert sale.approved
            [task] = looks
            busy, result = await task
            assert busy >= 1 and result is None
            assert ECHO not in sent(relay)
            clock.advance(60)
            assert (await informer.step()) is not None
            assert sent(relay)[-1] == ECHO
        finally:
            await pos.close()


async def test_status_reports_go_on_their_schedule_with_the_terminals_own_figures(
    tmp_path: Path, host: RunningHost
) -> None:
    async with mac_relay(host.port) as relay:
        pos, clock = terminal_at(tmp_path, relay.port)
        try:
            informer = Informer(pos.terminal)
            await pos.sign_on()
            await pos.sale(CUP_PAN, 1200, expiry="3012", pin="123456")
            for _ in range(14):  # 14 idle minutes: echoes only
                clock.advance(60)
                await informer.step()
            assert REPORT not in sent(relay)
            clock.advance(60)  # 900 s since the informer started
            report = await informer.step()
            assert report is not None and report.duty is Duty.STATUS_REPORT
            assert sent(relay).count(REPORT) == 1 and sent(relay)[-1] == REPORT
            stored = stored_report(host.config.db_url)
            assert stored == StatusReport(
                ok=True, batch=pos.terminal.batch, pending_reversals=0, offline_items=0
            )
            clock.advance(899)
            await informer.step()
            assert sent(relay).count(REPORT) == 1
            clock.advance(1)
            await informer.step()
            assert sent(relay).count(REPORT) == 2
        finally:
            await pos.close()


async def test_a_doctors_verdict_rides_in_scheduled_reports_until_the_next_settlement(
    tmp_path: Path, host: RunningHost
) -> None:
    pos, clock = terminal_at(tmp_path, host.port, echo_idle_s=0.0, status_report_s=60.0)
    try:
        informer = Informer(pos.terminal)
        await pos.sign_on()
        await pos.sale(CUP_PAN, 1200, expiry="3012", pin="123456")
        verdict = {
            "ok": False,
            "batch": 1,
            "causes": [["printer.paper_out", 0.9, "print"]],
            "checks": {"printer": "fail"},
        }
        keep_verdict(pos.journal, json.dumps(verdict).encode())
        clock.advance(60)
        await informer.step()
        stored = stored_report(host.config.db_url)
        assert stored is not None and not stored.ok
        assert stored.causes == [("printer.paper_out", 0.9, "print")]
        assert stored.checks == {"printer": "fail"}
        settled = await pos.settle()
        assert settled.ok
        clock.advance(60)
        await informer.step()
        assert stored_report(host.config.db_url) == StatusReport(
            ok=True, batch=pos.terminal.batch, pending_reversals=0, offline_items=0
        )
    finally:
        await pos.close()


async def test_a_down_link_is_journaled_once_each_way_and_kept_across_a_restart(
    tmp_path: Path, host: RunningHost
) -> None:
    proxy = AdversityProxy("127.0.0.1", 0, "127.0.0.1", host.port, Faults(), random.Random(1))
    await proxy.start()
    try:
        pos, clock = terminal_at(tmp_path, proxy.port)
        directory = pos.terminal.directory
        try:
            informer = Informer(pos.terminal)
            clock.advance(60)
            assert (await informer.step()) is not None
            assert informer.state is LinkState.UP and link_events(pos) == []  # no news
            proxy.faults = Faults(refuse=True)  # the shop's line goes down
            await pos.terminal.drop_link()
            for _ in range(5):
                clock.advance(60)
                result = await informer.step()
                assert result is not None and result.failure is LinkFailure.REFUSED
            # how the link failed is the link's own kind, carried on the terminal's answer
            assert link_events(pos) == [
                LinkWentDown(via=Via.ECHO, before=LinkState.UP, link_failure=LinkFailure.REFUSED)
            ]
            assert pos.status()["link"] == "down"
            down_at = pos.journal.get_meta(LINK_SINCE)
            assert down_at is not None
        finally:
            await pos.close()
        # the doctor reads it as the terminal's own evidence that the host refuses it
        assert doctor_signals(directory, clock) == {
            "keepalive.down.refused": [{"link_failure": "refused", "since": down_at}]
        }
        # The terminal restarts while the line is still down: nothing new to journal.
        pos = Pos.open(directory, clock=clock)
        try:
            informer = Informer(pos.terminal)
            assert informer.state is LinkState.DOWN
            clock.advance(60)
            await informer.step()
            assert len(link_events(pos)) == 1
            proxy.faults = Faults()  # the line is back
            clock.advance(60)
            back = await informer.step()
            assert back is not None and back.failure is None
            assert link_events(pos)[1:] == [LinkCameUp(via=Via.ECHO, down_since=down_at)]
            assert pos.status()["link"] == "up"
        finally:
            await pos.close()
        assert doctor_signals(directory, clock) == {}
    finally:
        await proxy.close()


async def test_an_echo_whose_connection_is_reset_is_tried_once_more_on_a_fresh_one(
    tmp_path: Path, host: RunningHost
) -> None:
    """The host drops a connection that sat idle as long as the terminal waits to echo: one
    more try, afresh; a second reset is the link's failure, as the link named it."""
    faults = Faults(reset=1.0, direction=Direction.UP)
    proxy = AdversityProxy("127.0.0.1", 0, "127.0.0.1", host.port, faults, random.Random(1))
    await proxy.start()
    try:
        pos, clock = terminal_at(tmp_path, proxy.port)
        try:
            informer = Informer(pos.terminal)
            clock.advance(60)
            result = await informer.step()
            assert result is not None and result.failure is LinkFailure.RESET
            assert proxy.counters["connections"] == 2
            assert link_events(pos) == [
                LinkWentDown(via=Via.ECHO, before=LinkState.UNKNOWN, link_failure=LinkFailure.RESET)
            ]
        finally:
            await pos.close()
    finally:
        await proxy.close()


async def test_run_sleeps_until_the_next_duty_on_the_terminals_clock(
    tmp_path: Path, host: RunningHost
) -> None:
    pos, clock = terminal_at(tmp_path, host.port, echo_idle_s=60.0, status_report_s=150.0)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 5:
            raise asyncio.CancelledError
        clock.advance(seconds)

    try:
        informer = Informer(pos.terminal, sleep=sleep)
        with pytest.raises(asyncio.CancelledError):
            await informer.run()
        # echo at 60, 120; report at 150; echo at 210 (60 after the report)
        assert slept == [60.0, 60.0, 30.0, 60.0, 60.0]
        assert informer.counts == {
            "echo_sent": 3,
            "echo_answered": 3,
            "status_report_sent": 1,
            "status_report_answered": 1,
        }
    finally:
        await pos.close()


async def test_with_both_duties_off_run_returns_and_nothing_is_sent(
    tmp_path: Path, host: RunningHost
) -> None:
    async with mac_relay(host.port) as relay:
        pos, _ = terminal_at(tmp_path, relay.port, echo_idle_s=0.0, status_report_s=0.0)
        try:
            async with Informer(pos.terminal).running() as informer:
                await informer.run()
            assert relay.seen == []
        finally:
            await pos.close()


async def test_a_failure_inside_the_informer_surfaces_when_it_stops(
    tmp_path: Path, host: RunningHost
) -> None:
    async def broken_sleep(seconds: float) -> None:
        raise RuntimeError("a bug in the informer's loop")

    pos, _ = terminal_at(tmp_path, host.port)
    try:
        with pytest.raises(RuntimeError, match="a bug in the informer's loop"):
            async with Informer(pos.terminal, sleep=broken_sleep).running():
                await asyncio.sleep(0)
                await asyncio.sleep(0)
    finally:
        await pos.close()


async def test_possettle_terminal_idle_keeps_the_host_informed_for_its_duration(
    tmp_path: Path, host: RunningHost
) -> None:
    directory = make_terminal(tmp_path / "t", host.port, echo_idle_s=0.05, status_report_s=0.2)
    seen_long_ago(host.config.db_url)
    run = await cli(directory, "idle", "--duration", "2")
    assert run.code == 0, run.stderr
    data = run.json()
    assert data["ok"] is True and data["link"] == "up"
    assert data["echo_answered"] == data["echo_sent"] >= 1
    assert data["status_report_answered"] == data["status_report_sent"] >= 1
    seen = last_seen(host.config.db_url)
    assert seen is not None and seen > LONG_AGO
    assert stored_report(host.config.db_url) == StatusReport(
        ok=True, batch=1, pending_reversals=0, offline_items=0
    )


async def test_possettle_terminal_idle_stops_cleanly_on_sigterm(
    tmp_path: Path, host: RunningHost
) -> None:
    directory = make_terminal(tmp_path / "t", host.port, echo_idle_s=0.05)
    seen_long_ago(host.config.db_url)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "possettle.cli.main", "terminal", "idle", "--dir", str(directory),
        "--json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        # The host touches last_seen when a request arrives, before the terminal has read the
        # reply, so one touch proves nothing answered. The terminal sends one request at a time:
        # four separate touches mean three requests were answered, so at least one echo was
        # (the others could be a sign-on and a status report).
        heard: set[datetime] = set()
        async with asyncio.timeout(60):
            while len(heard) < 4:
                if (seen := last_seen(host.config.db_url)) is not None and seen > LONG_AGO:
                    heard.add(seen)
                await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    data = json.loads(out)
    assert data["ok"] is True and data["echo_answered"] >= 1
    journal = sqlite3.connect(f"file:{directory / JOURNAL_FILE}?mode=ro", uri=True)
    try:
        [(open_marker,)] = journal.execute("SELECT value FROM meta WHERE key = 'open'")
    finally:
        journal.close()
    assert open_marker == "0"  # closed cleanly: the next start is no crash recovery


async def test_possettle_terminal_idle_with_both_duties_off_returns_at_once(
    tmp_path: Path, host: RunningHost
) -> None:
    off = {"echo_idle_s": 0.0, "status_report_s": 0.0}
    run = await cli(make_terminal(tmp_path / "t", host.port, **off), "idle")
    assert run.code == 0, run.stderr
    assert run.json() == {
        "ok": True,
        "link": "unknown",
        "echo_sent": 0,
        "echo_answered": 0,
        "status_report_sent": 0,
        "status_report_answered": 0,
    }

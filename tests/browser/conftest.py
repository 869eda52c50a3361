"""The console in a real headless Chromium (Debian's, driven by Playwright) on a real server.

The data is a simulated business day (``possettle.sim.day``: a host process and terminals over
real sockets), then, against a host started on the same ledger, one terminal whose settlement
really fails — the host's replies are lost on the line — and whose doctor reports the cause
to the host (0820/362), then the built-in alert engine run on the ledger the next morning.

``scripts/dev.py test`` installs Debian's ``chromium`` where it can (root + apt-get). Without
a Chromium these tests skip and say why, except under ``POSSETTLE_REQUIRE_TOOLS=1`` (CI),
where they fail. Screenshots of every page are written to ``artifacts/screenshots/`` (or
``$POSSETTLE_ARTIFACTS/screenshots/``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

from possettle.clock import FixedClock
from possettle.console.app import create_app
from possettle.console.auth import add_user
from possettle.ledger.engine import create_engine_for
from possettle.ledger.kinds import ConsoleRole
from possettle.ledger.schema import terminals
from possettle.monitor.alerts import evaluate_alerts
from possettle.sim.day import run_day
from possettle.sim.proxy import Direction, Faults
from possettle.terminal.config import TerminalConfig
from tests.doctor.harness import doctor, open_pos, settle
from tests.doctor.scenes import FAST, relay, set_timeout
from tests.host.harness import running_host
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN
from tests.terminal.scenario import point_at
from tests.tools import missing_tool

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse 1"
ROLES = ("viewer", "operator", "admin")
FAILING = "DEMO0001"  # the terminal whose settlement fails on a lossy line
# As the machine's own check runs it: no GPU, no sandbox as root, and none of Chromium's
# calls home (a closed network refuses them, many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> str | None:
    """``POSSETTLE_CHROMIUM`` (scripts/dev.py sets it to the one it found), else ``chromium``."""
    given = os.environ.get("POSSETTLE_CHROMIUM") or shutil.which("chromium")
    return given if given and Path(given).exists() else None


def artifacts() -> Path:
    base = Path(os.environ.get("POSSETTLE_ARTIFACTS") or ROOT / "artifacts")
    out = base / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="session")
def chromium() -> str:
    found = chromium_path()
    if found is None:
        why = (
            "no Chromium on this machine: `python3 scripts/dev.py test` installs Debian's "
            "chromium when run as root with apt-get; or set POSSETTLE_CHROMIUM=/path/to/chromium"
        )
        missing_tool(why)
    return found


@pytest.fixture
def playwright() -> Iterator[Playwright]:
    """Per test, not per session: Playwright's sync API runs an event loop on this thread
    while it is started, and the async tests that share the worker need the thread free."""
    with sync_playwright() as p:
        yield p


@pytest.fixture
def browser(playwright: Playwright, chromium: str) -> Iterator[Browser]:
    found = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    yield found
    found.close()


# ----------------------------------------------------------------------------- the day


@dataclass(frozen=True)
class Day:
    ledger: Path
    morning: datetime  # the console's clock: the next morning, when ops look at it
    failed_batch: int


async def _failing_settlement(work: Path) -> int:
    """DEMO0001 trades, then settles on a line that loses the host's replies; its doctor
    (once the line is back) names the cause and reports it to the host."""
    url = f"sqlite:///{work / 'host.db'}"
    term = work / "terminals" / FAILING
    TerminalConfig.load(term).with_changes(policy={"settlement_window": "always"}).save(term)
    async with running_host(url, work / "host.key") as host, relay(host.port) as proxy:
        point_at(term, proxy.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            for i, pan in enumerate((CUP_PAN, CUP_PAN_2, VISA_PAN)):
                assert (await pos.sale(pan, 1500 + i * 100, expiry="3012")).approved
            batch = pos.status()["batch"]
        finally:
            await pos.close()
        proxy.faults = Faults(drop=1.0, direction=Direction.DOWN)
        set_timeout(term, FAST)
        result = await settle(term)
        assert result["ok"] is False, result
        proxy.faults = Faults()
        set_timeout(term)
        report = await doctor(term)  # no --fix: ops find it failed in the morning
        assert report.diagnoses[0].cause.id == "network.unstable", report.as_dict()
    return int(batch)


async def _build(work: Path) -> int:
    await run_day(terminals=4, per_terminal=10, seed=11, workdir=work)
    return await _failing_settlement(work)


def _in_a_thread(make: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a coroutine on its own loop and thread: Playwright's sync API owns this thread's."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


@pytest.fixture(scope="session")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    work = tmp_path_factory.mktemp("browser-day")
    batch = _in_a_thread(lambda: _build(work))
    engine = create_engine_for(f"sqlite:///{work / 'host.db'}")
    try:
        with engine.connect() as conn:
            seen = conn.execute(sa.select(sa.func.max(terminals.c.last_seen_at))).scalar_one()
        morning = seen + timedelta(hours=1)
        outcome = evaluate_alerts(engine, FixedClock(morning))
        assert outcome.opened, "the alert engine found nothing on the morning after"
    finally:
        engine.dispose()
    return Day(work / "host.db", morning, batch)


async def _recover(work: Path) -> None:
    """The failed settlement finished the next morning: ``possettle doctor --fix`` on the
    terminal, against the host on the same ledger (the line is fine again)."""
    url = f"sqlite:///{work / 'host.db'}"
    term = work / "terminals" / FAILING
    async with running_host(url, work / "host.key") as host:
        point_at(term, host.port)
        report = await doctor(term, fix=True)
        assert report.ok, report.as_dict()


@pytest.fixture(scope="session")
def recovered_day(day: Day, tmp_path_factory: pytest.TempPathFactory) -> Day:
    """The same day, after the failing terminal's settlement was resumed and balanced."""
    work = tmp_path_factory.mktemp("browser-recovered") / "day"
    shutil.copytree(day.ledger.parent, work)

    async def recover() -> int:
        await _recover(work)
        return 0

    _in_a_thread(recover)
    engine = create_engine_for(f"sqlite:///{work / 'host.db'}")
    try:
        with engine.connect() as conn:
            seen = conn.execute(sa.select(sa.func.max(terminals.c.last_seen_at))).scalar_one()
    finally:
        engine.dispose()
    return Day(work / "host.db", seen + timedelta(hours=1), day.failed_batch)


# ----------------------------------------------------------------------------- the server


@dataclass
class Served:
    url: str
    ledger: Path
    clock: FixedClock
    day: Day


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # a thread: the test runner owns signals
        pass


@pytest.fixture
def console(day: Day, tmp_path: Path) -> Iterator[Served]:
    """The console on this test's own copy of the day's ledger, on a real port."""
    yield from _serve(day, tmp_path)


@pytest.fixture
def recovered_console(recovered_day: Day, tmp_path: Path) -> Iterator[Served]:
    """The console on a copy of the ledger after the failed settlement was recovered."""
    yield from _serve(recovered_day, tmp_path)


def _serve(day: Day, tmp_path: Path) -> Iterator[Served]:
    ledger = tmp_path / "host.db"
    shutil.copy(day.ledger, ledger)
    engine = create_engine_for(f"sqlite:///{ledger}")
    clock = FixedClock(day.morning)
    for role in ROLES:
        add_user(engine, role, PASSWORD, ConsoleRole(role), clock.now())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(create_app(engine, clock=clock), log_level="warning", lifespan="off")
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the console did not start"
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", ledger, clock, day)
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
        engine.dispose()


# ----------------------------------------------------------------------------- pages


@dataclass
class Problems:
    """What the browser complained about: script errors, CSP refusals, failed requests."""

    seen: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.seen.append(f"console: {message.text}")

    def page_error(self, error: Exception) -> None:
        self.seen.append(f"page error: {error}")

    def response(self, response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.seen.append(f"{response.status} for {response.url}")


@dataclass
class Browsing:
    page: Page
    served: Served
    problems: Problems

    def go(self, path: str) -> None:
        reply = self.page.goto(self.served.url + path)
        assert reply is not None and reply.ok, (path, reply and reply.status)

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.go("/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_load_state()

    def shot(self, name: str) -> Path:
        path = artifacts() / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _browse(browser: Browser, console: Served, locale: str) -> Iterator[Browsing]:
    # reduced motion: the console then draws its charts without animation, so a screenshot
    # shows them finished
    context = browser.new_context(
        locale=locale, viewport={"width": 1400, "height": 900}, reduced_motion="reduce"
    )
    page = context.new_page()
    problems = Problems()
    page.on("console", problems.console)
    page.on("pageerror", problems.page_error)
    page.on("response", problems.response)
    try:
        yield Browsing(page, console, problems)
    finally:
        context.close()
    assert problems.seen == [], problems.seen


@pytest.fixture
def web(browser: Browser, console: Served) -> Iterator[Browsing]:
    """A fresh browser profile (English) on the console; any script or CSP error fails."""
    yield from _browse(browser, console, "en-US")


@pytest.fixture
def web_zh(browser: Browser, console: Served) -> Iterator[Browsing]:
    """A browser whose language is Chinese (Accept-Language: zh-CN)."""
    yield from _browse(browser, console, "zh-CN")


@pytest.fixture
def web_recovered(browser: Browser, recovered_console: Served) -> Iterator[Browsing]:
    """A browser (English) on the console after the failed settlement was recovered."""
    yield from _browse(browser, recovered_console, "en-US")

"""How the link failed reaches the journal: a settlement that stops on the link journals
``settle_failed`` with the link's failure kind, a sale whose reply never came journals
``no_reply`` with it — refused, timeout, no route, reset, lost reply, each against an endpoint
that fails that way on real sockets (no route: the connect call fails with the kernel's errno).
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from possettle.link.failure import LinkFailure
from possettle.terminal.config import TerminalConfig
from possettle.terminal.journal.events import EventKind, NoReply, SettleFailed
from tests.host.harness import register, running_host
from tests.link.endpoints import closed_port, connect_fails, full_accept_queue, server
from tests.terminal.harness import CUP_PAN, make_terminal, open_pos
from tests.terminal.scenario import point_at

FAST = 0.5  # the terminal's timeout while silence is the fault


@contextlib.asynccontextmanager
async def endpoint(kind: LinkFailure, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    """A port the terminal's link fails against as ``kind``."""
    if kind is LinkFailure.REFUSED:
        yield closed_port()
    elif kind is LinkFailure.TIMEOUT:
        with full_accept_queue() as port:
            yield port
    elif kind is LinkFailure.NO_ROUTE:
        connect_fails(monkeypatch, {"127.0.0.1": OSError(errno.EHOSTUNREACH, "No route")})
        yield closed_port()
    else:
        behaviour = "reset" if kind is LinkFailure.RESET else "silent"
        async with server(behaviour) as port:
            yield port


async def traded(tmp_path: Path, sqlite_url: str) -> Path:
    """A signed-on terminal with one approved sale, its host gone again."""
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 100, expiry="3012")).approved
        finally:
            await pos.close()
    TerminalConfig.load(term).with_changes(timeout=FAST).save(term)
    return term


def latest(term: Path, kind: EventKind, detail: Callable[[Any], bool]) -> Any:
    pos = open_pos(term)
    try:
        events = pos.journal.events(kind)
    finally:
        pos.journal.close()
    assert events, f"no {kind} event"
    assert detail(events[0].detail), events[0]
    return events[0].detail


@pytest.mark.parametrize("kind", list(LinkFailure))
async def test_a_settlement_the_link_stopped_journals_how_it_failed(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, kind: LinkFailure
) -> None:
    term = await traded(tmp_path, sqlite_url)
    async with endpoint(kind, monkeypatch) as port:
        point_at(term, port)
        pos = open_pos(term)
        try:
            report = await pos.settle()
        finally:
            await pos.close()
    assert not report.ok and report.failure is not None
    assert report.failure["link"] is True
    assert report.failure["link_failure"] is kind
    failed = latest(term, EventKind.SETTLE_FAILED, lambda d: isinstance(d, SettleFailed))
    assert (failed.step, failed.link, failed.link_failure) == ("settle", True, kind)


@pytest.mark.parametrize("kind", [LinkFailure.RESET, LinkFailure.LOST_REPLY])
async def test_a_sale_whose_reply_never_came_journals_how_the_link_failed(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, kind: LinkFailure
) -> None:
    term = await traded(tmp_path, sqlite_url)
    async with endpoint(kind, monkeypatch) as port:
        point_at(term, port)
        pos = open_pos(term)
        try:
            sale = await pos.sale(CUP_PAN, 200, expiry="3012", allow_offline=False)
        finally:
            await pos.close()
    assert sale.state.value == "pending"  # its fate is unknown: a reversal is recorded
    no_reply = latest(term, EventKind.NO_REPLY, lambda d: isinstance(d, NoReply))
    assert (no_reply.stan, no_reply.link_failure) == (sale.stan, kind)

"""A host that cannot be pushed over (issue 10): a client that never reads its replies is
dropped, one address cannot take every connection, and sockets that never send a valid frame
are cut early. Real host, real sockets; the other terminal keeps trading meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from possettle.host.config import HostConfig
from possettle.iso8583.fields import NetworkCode
from possettle.link import requests as m
from possettle.link.client import Link
from tests.host.harness import MID, PAN, TMK, RunningHost, register, running_host
from tests.host.test_bad_input import ECHO, frame_of

#: generous: the host must act long before this; nothing here measures how fast
PATIENCE = 120.0
OTHER_ADDRESS = "127.0.0.2"  # Linux routes all of 127/8 on lo


def echo_frames(count: int, tid: str = "NOSUCH01") -> bytes:
    """``count`` echo tests from an unregistered terminal: each is answered (97) and none
    writes to the ledger, so the host's only work is to reply."""
    link = Link("127.0.0.1", 0, tid, MID, TMK)
    return b"".join(
        link.encode(m.management(tid, MID, n % 999_999 + 1, 1, NetworkCode.ECHO))
        for n in range(count)
    )


@contextlib.contextmanager
def raw_socket(source: str | None = None, rcvbuf: int | None = None) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf is not None:  # before connect, so the window is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source is not None:
            sock.bind((source, 0))
        sock.setblocking(False)
        yield sock
    finally:
        sock.close()


async def closed_by_host(sock: socket.socket) -> bool:
    """Whether the host has closed ``sock`` (EOF or reset), reading whatever is left."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(PATIENCE):
            while await loop.sock_recv(sock, 65536):
                pass
    except ConnectionError:
        return True
    except TimeoutError:
        return False
    return True


async def sign_on_and_sell(host: RunningHost) -> None:
    link = host.link()
    try:
        await link.connect()
        assert (await link.sign_on()).code == "00"
        sale = m.sale(link.tid, MID, link.next_stan(), 1, pan=PAN, amount=1_00, expiry="3012")
        assert (await link.send(sale)).code == "00"
    finally:
        await link.close()


@contextlib.asynccontextmanager
async def host_with(tmp_path: Path, url: str, **config: object) -> AsyncIterator[RunningHost]:
    key_file = tmp_path / "host.key"
    await register(url, key_file)
    async with running_host(url, key_file, **config) as host:
        yield host


def metric(host: RunningHost, name: str, label: str) -> float | None:
    """One sample of the host process's own metrics (``/metrics`` of ``host serve``)."""
    registry = CollectorRegistry()
    assert host.telemetry is not None
    host.telemetry.metrics.register(registry)
    labels = {"kind" if name.endswith("bad_frames_total") else "reason": label}
    return registry.get_sample_value(name, labels)


async def until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail (naming ``what``) after :data:`PATIENCE`."""
    step = 0.05
    for _ in range(int(PATIENCE / step)):
        if condition():
            return
        await asyncio.sleep(step)
    pytest.fail(f"not after {PATIENCE}s: {what}")


async def test_a_client_that_sends_and_never_reads_is_dropped_while_others_trade(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with host_with(
        tmp_path, sqlite_url, write_timeout=1.0, idle_timeout=PATIENCE * 2
    ) as host:
        loop = asyncio.get_running_loop()
        # One frame the host understands, then format errors: each is answered (30) and
        # costs the host no ledger write, so it answers as fast as it can. Megabytes of
        # replies: more than the kernel's send buffer (up to 4 MiB) can hide.
        frames = echo_frames(1) + frame_of(ECHO[13:-4]) * 150_000
        with raw_socket(rcvbuf=4096) as hog:
            await loop.sock_connect(hog, ("127.0.0.1", host.port))

            async def pipeline() -> None:
                # stops when the host resets the connection, or when all is sent
                with contextlib.suppress(ConnectionError):
                    await loop.sock_sendall(hog, frames)

            sender = asyncio.create_task(pipeline())
            try:
                # the host is stuck on this client's replies; another terminal trades meanwhile
                await until(lambda: host.server.stats["frames"] > 100, "the hog is served")
                await sign_on_and_sell(host)
                await until(lambda: host.server.stats.get("slow_readers") == 1, "the hog dropped")
                assert (
                    metric(host, "possettle_host_connections_dropped_total", "write_timeout") == 1
                )
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
            assert await closed_by_host(hog)
        assert host.server.open_connections == 0
        await sign_on_and_sell(host)


async def test_one_address_cannot_lock_every_terminal_out(tmp_path: Path, sqlite_url: str) -> None:
    cap, idle = 8, 20
    async with host_with(
        tmp_path,
        sqlite_url,
        max_connections=16,
        max_connections_per_address=cap,
        first_frame_timeout=1.0,
        idle_timeout=PATIENCE * 2,  # only the first-frame timeout can close the idle ones
    ) as host:
        loop = asyncio.get_running_loop()
        with contextlib.ExitStack() as stack:
            socks = [stack.enter_context(raw_socket(OTHER_ADDRESS)) for _ in range(idle)]
            for sock in socks:
                await loop.sock_connect(sock, ("127.0.0.1", host.port))
            await until(
                lambda: host.server.stats["connections"] + host.server.stats["refused"] >= idle,
                "every idle socket accepted or refused",
            )
            # a terminal from another address is served at once, not after the idle ones
            await sign_on_and_sell(host)
            assert host.server.stats.get("refused_per_address") == idle - cap
            # the idle sockets (none sent a frame) are all closed: the refused ones at once,
            # the others after the first-frame timeout
            closed = await asyncio.gather(*(closed_by_host(s) for s in socks))
            assert all(closed)
            assert host.server.stats.get("first_frame_timeouts") == cap
        assert metric(host, "possettle_host_connections_refused_total", "per_address") == idle - cap
        dropped = metric(host, "possettle_host_connections_dropped_total", "first_frame_timeout")
        assert dropped == cap


async def test_a_connection_that_sent_a_valid_frame_keeps_the_idle_timeout(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with host_with(
        tmp_path, sqlite_url, first_frame_timeout=0.5, idle_timeout=PATIENCE * 2
    ) as host:
        link = host.link()
        await link.connect()
        try:
            assert (await link.sign_on()).code == "00"
            await asyncio.sleep(1.5)  # past the first-frame timeout, well inside the idle one
            echo = m.management(link.tid, MID, link.next_stan(), 1, NetworkCode.ECHO)
            assert (await link.send(echo)).code == "00"
        finally:
            await link.close()
        assert host.server.stats.get("first_frame_timeouts") == 0


@pytest.mark.parametrize("first", ["nothing", "a format error"])
async def test_a_connection_without_a_valid_frame_is_cut_at_the_first_frame_timeout(
    tmp_path: Path, sqlite_url: str, first: str
) -> None:
    async with host_with(
        tmp_path, sqlite_url, first_frame_timeout=0.5, idle_timeout=PATIENCE * 2
    ) as host:
        loop = asyncio.get_running_loop()
        with raw_socket() as sock:
            await loop.sock_connect(sock, ("127.0.0.1", host.port))
            if first != "nothing":  # answered 30, but not a frame the host understood
                await loop.sock_sendall(sock, frame_of(ECHO[13:-4]))
            assert await closed_by_host(sock)
        assert host.server.stats.get("first_frame_timeouts") == 1


def test_a_reply_may_wait_as_long_as_the_idle_timeout_unless_configured_apart() -> None:
    assert HostConfig(db_url="x", idle_timeout=7.0).write_deadline == 7.0
    assert HostConfig(db_url="x", idle_timeout=7.0, write_timeout=2.0).write_deadline == 2.0

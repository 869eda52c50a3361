"""Endpoints a link fails against in each way, on real sockets (and a kernel's no-route errno,
which no test can cause without touching the machine's network)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once it is closed


@contextlib.contextmanager
def full_accept_queue() -> Iterator[int]:
    """A listener that never accepts, its queue filled: later SYNs are dropped unanswered."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    try:
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                c.connect(("127.0.0.1", port))
            fillers.append(c)
        yield port
    finally:
        for c in fillers:
            c.close()
        server.close()


@contextlib.asynccontextmanager
async def server(behaviour: str) -> AsyncIterator[int]:
    """A server that takes the request, then ``reset`` (RST), ``close`` (FIN) or ``silent``."""
    held: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(8192)  # the request arrived
        if behaviour == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif behaviour == "close":
            writer.close()
        else:
            held.append(writer)  # keep it open and say nothing

    srv = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield int(srv.sockets[0].getsockname()[1])
    finally:
        for w in held:
            w.close()
        srv.close()
        await srv.wait_closed()


def connect_fails(monkeypatch: pytest.MonkeyPatch, errors: dict[str, OSError]) -> None:
    """Make the event loop's connect fail for the addresses in ``errors`` as a kernel would."""
    loop = asyncio.get_running_loop()
    real = loop.sock_connect

    async def sock_connect(sock: socket.socket, address: Any) -> None:
        if address[0] in errors:
            raise errors[address[0]]
        await real(sock, address)

    monkeypatch.setattr(loop, "sock_connect", sock_connect)


def resolves_to(monkeypatch: pytest.MonkeyPatch, answer: list[Any] | OSError) -> None:
    async def getaddrinfo(*args: object, **kw: object) -> list[Any]:
        if isinstance(answer, OSError):
            raise answer
        return answer

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)

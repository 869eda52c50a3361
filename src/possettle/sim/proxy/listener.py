"""The proxy's listening port, which can refuse connections and later take them again.

A refused connect must fail the way it does when the host is down (``ECONNREFUSED``, which a
terminal reports as "unreachable": nothing was sent, nothing to reverse). Accepting and then
closing cannot give that — the kernel completes the TCP handshake before the application
accepts — so refusing means not listening. The port stays bound meanwhile (a bound socket
that does not listen answers a connect with RST), so nothing else takes it and listening
again reuses it. Connections already accepted are not touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable

from possettle.errors import ConfigError

ClientHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
BACKLOG = 128


class Listener:
    def __init__(self, host: str, port: int, on_client: ClientHandler) -> None:
        self.host = host
        self.port = port
        self._on_client = on_client
        self._sock: socket.socket | None = None
        self._server: asyncio.Server | None = None
        # Serving again is a coroutine started from a plain setter; kept here so close()
        # awaits it and any error it raised surfaces there instead of vanishing.
        self._starting: list[asyncio.Task[None]] = []

    @property
    def listening(self) -> bool:
        return self._server is not None or bool(self._starting)

    async def start(self, *, listening: bool) -> None:
        """Bind the port (0 picks a free one, then kept) and listen unless refusing."""
        self._sock = self._bind(self.port)
        self.port = int(self._sock.getsockname()[1])
        if listening:
            self._sock.listen(BACKLOG)
            await self._serve(self._sock)

    def set_listening(self, listening: bool) -> None:
        """Refuse or accept connections from now on (callable from synchronous code)."""
        if self._sock is None or listening == self.listening:
            return
        if listening:
            sock = self._sock
            # Listening now, not when the task first runs: a connect made right after this
            # call is queued by the kernel instead of refused.
            sock.listen(BACKLOG)
            self._starting.append(asyncio.get_running_loop().create_task(self._serve(sock)))
            return
        for task in self._starting:
            task.cancel()
        self._starting.clear()
        if self._server is not None:
            self._server.close()  # closes the listening socket at once
            self._server = None
        self._sock = self._bind(self.port)

    async def _serve(self, sock: socket.socket) -> None:
        self._server = await asyncio.start_server(self._on_client, sock=sock, backlog=BACKLOG)
        task = asyncio.current_task()
        if task is not None and task in self._starting:
            self._starting.remove(task)

    def _bind(self, port: int) -> socket.socket:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            raise ConfigError(f"--listen: cannot listen on {self.host}:{port}: {exc}") from exc
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
        except OSError as exc:
            sock.close()
            raise ConfigError(f"--listen: cannot listen on {self.host}:{port}: {exc}") from exc
        sock.setblocking(False)
        return sock

    async def close(self) -> None:
        """Stop listening and release the port; raises what a re-listen failed with."""
        starting, self._starting = self._starting, []
        for task in starting:
            task.cancel()
        results = await asyncio.gather(*starting, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        for result in results:
            if isinstance(result, Exception):
                raise result

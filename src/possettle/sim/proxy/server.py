"""The adversity proxy's asyncio shell: listen, connect to the target, relay, count.

A terminal points at the proxy instead of the host; the proxy opens its own connection to the
host for each one and relays frames through :class:`~possettle.sim.proxy.relay.Relay`, which
applies the current :class:`Faults`. The injected ``rng`` is the only randomness: each new
connection takes two seeds from it (one per direction), so with one seed the same frames meet
the same fate however the two directions interleave.
"""

from __future__ import annotations

import asyncio
import random
from types import TracebackType

import structlog

from possettle.sim.proxy.faults import Faults
from possettle.sim.proxy.listener import Listener
from possettle.sim.proxy.relay import WAYS, Counters, Relay, reset_now

log = structlog.get_logger("possettle.sim.proxy")


class AdversityProxy:
    """A PS-CUP/1-aware TCP proxy that drops, delays, duplicates, reorders, resets, stalls,
    cuts and refuses, on request.

    >>> # async with AdversityProxy("127.0.0.1", 0, "127.0.0.1", host_port,
    >>> #                           Faults(drop=1.0), random.Random(7)) as proxy:
    >>> #     link = Link("127.0.0.1", proxy.port, ...)
    """

    def __init__(
        self,
        listen_host: str,
        listen_port: int,
        target_host: str,
        target_port: int,
        faults: Faults,
        rng: random.Random,
    ) -> None:
        self.target_host, self.target_port = target_host, target_port
        self._faults = faults
        self._rng = rng
        self._counters = Counters()
        self._listener = Listener(listen_host, listen_port, self._on_client)
        self._connections: set[asyncio.Task[object]] = set()
        self._errors: list[Exception] = []
        self._closing = False

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        """Swap the faults: per-frame faults apply from the next frame, ``refuse`` at once."""
        self._faults = faults
        if not self._closing:
            self._listener.set_listening(not faults.refuse)

    @property
    def port(self) -> int:
        """The listening port (the one chosen when asked for port 0)."""
        return self._listener.port

    @property
    def listen_host(self) -> str:
        return self._listener.host

    @property
    def counters(self) -> dict[str, int]:
        """A snapshot: connections, refused, frames and bytes each way, and each fault."""
        return self._counters.as_dict()

    async def start(self) -> None:
        """Bind (raises :class:`ConfigError` naming ``--listen`` if it cannot) and listen."""
        await self._listener.start(listening=not self._faults.refuse)
        log.info(
            "proxy listening",
            listen=f"{self.listen_host}:{self.port}",
            target=f"{self.target_host}:{self.target_port}",
            faults=self._faults.summary(),
        )

    async def close(self) -> None:
        """Stop listening, end every relayed connection, and raise what went wrong inside.

        A proxy bug must fail the test that met it, not vanish in a log: an unexpected
        exception in a connection is kept and raised here (as an ExceptionGroup).
        """
        self._closing = True
        try:
            await self._listener.close()
        finally:
            tasks = list(self._connections)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._errors:
            raise ExceptionGroup("adversity proxy connection failed", self._errors)

    async def __aenter__(self) -> AdversityProxy:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._relay(reader, writer)
        except asyncio.CancelledError:
            # close() ended this connection. The task is the top of its connection (asyncio
            # made it for us), so ending normally is the whole of the cleanup, and Python
            # 3.11's stream callback would log a cancelled task as an error.
            pass
        except Exception as exc:  # a proxy bug: keep it for close() to raise
            log.exception("proxy connection failed")
            self._errors.append(exc)
        finally:
            self._connections.discard(task)
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._faults.refuse or self._closing:
            # accepted in the instant refusing began: end it the way a refusal looks
            self._counters.add("refused")
            reset_now(writer)
            return
        self._counters.add("connections")
        rngs = {way: random.Random(self._rng.getrandbits(64)) for way in WAYS}
        try:
            target = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError as exc:
            # the terminal sees what it would see connecting to a host that is down
            self._counters.add("target_unreachable")
            log.warning("target unreachable", target=self.target_host, error=str(exc))
            reset_now(writer)
            return
        relay = Relay((reader, writer), target, lambda: self._faults, self._counters, rngs)
        await relay.run()

"""The asyncio TCP shell of the host: connections, timeouts, caps and graceful shutdown.

Everything protocol-related happens in :class:`~possettle.host.service.HostService`; this
module only moves bytes. A connection is served one request at a time (a terminal has one
request in flight). What one client can hold is bounded:

* reads: a silent connection is cut after the idle timeout, a frame started and not
  finished after the frame timeout, and a connection that has sent no valid frame (one the
  service decoded and answered as a known message) after the shorter first-frame timeout,
  counted from its accept;
* writes: a reply the peer does not take within the write deadline (the idle timeout unless
  configured apart) means the peer does not read; its connection is aborted, which releases
  the replies buffered for it;
* connections: a global cap, and a cap per source address so that one address cannot take
  them all; the 4096-byte frame limit bounds each read.

Shutdown (SIGTERM / SIGINT): stop accepting, let in-flight requests finish within the
grace period, then close. A request whose ledger write did not commit is never answered,
so nothing acknowledged is lost even on ``kill -9``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

import structlog

from possettle.clock import Clock
from possettle.errors import ConfigError
from possettle.host.config import HostConfig
from possettle.host.context import HostContext
from possettle.host.errors import ListenError
from possettle.host.observer import MetricsEndpoint, Telemetry
from possettle.host.service import Answer, HostService
from possettle.iso8583.errors import FramingError
from possettle.iso8583.framing import MAX_FRAME, Frame, FrameReader
from possettle.ledger.database import Database
from possettle.logs import ensure_logging
from possettle.upstream.connector import IssuerConnector
from possettle.upstream.factory import connector_from_spec

log = structlog.get_logger("possettle.host")

#: seconds between two log lines about refused connections of one reason
REFUSAL_LOG_EVERY = 1.0


class HostServer:
    def __init__(
        self,
        config: HostConfig,
        db: Database,
        issuer: IssuerConnector,
        *,
        context: HostContext | None = None,
    ) -> None:
        """``context`` overrides what the host mints (RRNs, working keys); tests pin them."""
        self.config = config
        self.db = db
        self.issuer = issuer
        self.service = HostService(context or HostContext(db, issuer, config))
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self.port = config.port
        #: the port ``/metrics`` is served on (``serve()`` with ``config.metrics_port``)
        self.metrics_port: int | None = None
        self._per_address: dict[str, int] = {}
        self._refusals_logged: dict[str, float] = {}  # reason -> when last logged (_refuse)
        self.stats = {
            "connections": 0,
            "refused": 0,  # all refusals: the global cap, the per-address cap, shutting down
            "refused_per_address": 0,
            "frames": 0,
            "framing_errors": 0,
            "first_frame_timeouts": 0,
            "slow_readers": 0,  # dropped: a reply not taken within the write deadline
        }

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._accept, self.config.host, self.config.port, limit=MAX_FRAME * 2
            )
        except OSError as exc:
            where = f"{self.config.host}:{self.config.port}"
            raise ListenError(f"cannot listen for terminals on {where}: {_why(exc)}") from exc
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        log.info(
            "host listening",
            host=self.config.host,
            port=self.port,
            db=self.db.url,
            issuer=getattr(self.issuer, "name", "?"),
        )

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        address = _address(writer)
        refusal = self._refusal(address)
        if refusal is not None:
            self._refuse(address, refusal)
            writer.close()  # nothing was written to it: closes at once
            return
        self._connections.add(task)
        self._per_address[address] = self._per_address.get(address, 0) + 1
        self.stats["connections"] += 1
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # Shutdown cancelled this connection after the grace period. The task is the top
            # of its connection, so ending it normally here is the whole of the cleanup.
            log.info("connection closed by shutdown")
        finally:
            self._connections.discard(task)
            left = self._per_address[address] - 1
            if left:
                self._per_address[address] = left
            else:
                del self._per_address[address]
            await self._close(writer)

    def _refusal(self, address: str) -> str | None:
        if self._stopping:
            return "stopping"
        if len(self._connections) >= self.config.max_connections:
            return "capacity"
        if self._per_address.get(address, 0) >= self.config.max_connections_per_address:
            return "per_address"
        return None

    def _refuse(self, address: str, reason: str) -> None:
        self.stats["refused"] += 1
        if reason == "per_address":
            self.stats["refused_per_address"] += 1
        self.service.ctx.observer.connection_refused(reason)
        # One line per refused connection would let a flood fill the log: one a second per
        # reason, with the counts so far.
        now = asyncio.get_running_loop().time()
        if now - self._refusals_logged.get(reason, -REFUSAL_LOG_EVERY) >= REFUSAL_LOG_EVERY:
            self._refusals_logged[reason] = now
            log.warning("connection refused", reason=reason, address=address, **self.stats)

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        """Close, but never wait on a peer for it: replies it has not taken are dropped."""
        if writer.transport.get_write_buffer_size():
            writer.transport.abort()
        else:
            writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.config.write_deadline):
                await writer.wait_closed()
        writer.transport.abort()  # a no-op once closed

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = FrameReader()
        peer = writer.get_extra_info("peername")
        loop = asyncio.get_running_loop()
        started: float | None = None
        # until the peer has sent one valid frame, the whole connection has this long
        first_deadline: float | None = loop.time() + self.config.first_frame_timeout
        while not self._stopping:
            if frames.pending:
                started = started if started is not None else loop.time()
                budget = self.config.frame_timeout - (loop.time() - started)
            else:
                started = None
                budget = self.config.idle_timeout
            if first_deadline is not None:
                budget = min(budget, first_deadline - loop.time())
            try:
                # asyncio.timeout, not wait_for: wait_for wraps every read in a new task.
                async with asyncio.timeout(max(budget, 0.0)):
                    data = await reader.read(MAX_FRAME + 2)
            except TimeoutError:
                if first_deadline is not None and loop.time() >= first_deadline:
                    self.stats["first_frame_timeouts"] += 1
                    self.service.ctx.observer.connection_dropped("first_frame_timeout")
                    log.info("no valid frame in time", peer=peer, partial_bytes=frames.pending)
                else:
                    log.info("connection timed out", peer=peer, partial_bytes=frames.pending)
                return
            except ConnectionError:
                return
            if not data:
                return
            try:
                batch = frames.feed(data)
            except FramingError as exc:
                self.stats["framing_errors"] += 1
                log.warning("framing error, closing", peer=peer, error=str(exc))
                return
            for frame in batch:
                self.stats["frames"] += 1
                answer = await self._handle(frame)
                if answer.reply is None:
                    return
                if answer.valid:
                    first_deadline = None
                if not await self._send(writer, answer.reply, peer):
                    return
                # A pipelining client's frames are all at hand, and neither the reply nor
                # an unpaused drain suspends: let the other connections run between frames.
                await asyncio.sleep(0)

    async def _send(self, writer: asyncio.StreamWriter, reply: bytes, peer: object) -> bool:
        """Write one reply within the write deadline; False: the connection is done."""
        writer.write(reply)
        try:
            async with asyncio.timeout(self.config.write_deadline):
                await writer.drain()
        except TimeoutError:
            # The peer sends but does not read: its replies pile up here. Abort (not close,
            # which would wait for it to read) to release them; everyone else is unaffected.
            self.stats["slow_readers"] += 1
            self.service.ctx.observer.connection_dropped("write_timeout")
            log.warning(
                "peer does not read its replies, dropped",
                peer=peer,
                buffered=writer.transport.get_write_buffer_size(),
                write_timeout=self.config.write_deadline,
            )
            writer.transport.abort()
            return False
        except ConnectionError:
            return False
        return True

    async def _handle(self, frame: Frame) -> Answer:
        self._in_flight += 1
        self._idle.clear()
        try:
            return await self.service.handle(frame)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def stop(self) -> None:
        """Stop accepting, finish in-flight requests (within the grace period), close."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self.config.shutdown_grace)
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        await self.service.ctx.bad_frames.aclose()  # what was counted since the last flush
        log.info("host stopped", **self.stats)


async def serve(
    config: HostConfig,
    *,
    clock: Clock | None = None,
    ready: Callable[[HostServer], None] | None = None,
    stop: asyncio.Event | None = None,
    telemetry: Telemetry | None = None,
) -> None:
    """Run a host until ``stop`` is set (or SIGTERM / SIGINT when ``stop`` is None).

    ``telemetry`` hears what the host reports (:mod:`possettle.host.observer`) and serves it
    on ``config.metrics_port``, which needs one: the CLI passes the monitor's
    :class:`~possettle.monitor.metrics.HostTelemetry`. Without it nobody hears.

    Besides the server it runs the durable sender of upstream reversals
    (:mod:`possettle.host.reversals`) and hands the issuer's late replies to it; should the
    sender fail, the host stops and its error is raised here.
    """
    if config.metrics_port is not None and telemetry is None:
        raise ConfigError(
            f"metrics port {config.metrics_port}: serve() was given no telemetry to expose "
            "(pass telemetry=possettle.monitor.metrics.HostTelemetry())"
        )
    ensure_logging()
    db = Database.open(config.db_url, key_file=config.key_file, clock=clock)
    issuer = connector_from_spec(config.issuer, db.clock)
    stop_event = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if stop is None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop_event.set)
    await db.start()
    try:
        await issuer.start()
        exposition: MetricsEndpoint | None = None
        try:
            if telemetry is not None and config.metrics_port is not None:
                exposition = _expose(config, db, telemetry, config.metrics_port)
            observer = telemetry.observer if telemetry is not None else None
            context = HostContext(db, issuer, config, observer=observer)
            server = HostServer(config, db, issuer, context=context)
            if exposition is not None:
                server.metrics_port = exposition.port
            await server.start()
            issuer.set_late_reply_handler(context.reversals.late_reply)
            sender = asyncio.create_task(context.reversals.run(), name="upstream reversals")
            try:
                if ready is not None:
                    ready(server)
                await _until_stopped(stop_event, sender)
            finally:
                await server.stop()
                issuer.set_late_reply_handler(None)
                sender.cancel()
                await asyncio.wait({sender})
                if context.reversals.unsaved:
                    log.error(
                        "host stopping with upstream reversals the ledger never stored",
                        rrns=list(context.reversals.unsaved),
                    )
        finally:
            if exposition is not None:
                await asyncio.to_thread(exposition.close)
            await issuer.aclose()
    finally:
        await db.close()
        if stop is None:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)


async def _until_stopped(stop: asyncio.Event, sender: asyncio.Task[None]) -> None:
    """Wait for ``stop``; if the reversal sender ends first, raise why."""
    stopping = asyncio.create_task(stop.wait(), name="host stop")
    try:
        done, _ = await asyncio.wait({stopping, sender}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if sender in done:
        exc = sender.exception()
        log.error("upstream reversal sender failed; stopping the host", error=repr(exc))
        sender.result()
        raise RuntimeError("the upstream reversal sender ended on its own")


def _expose(config: HostConfig, db: Database, telemetry: Telemetry, port: int) -> MetricsEndpoint:
    try:
        endpoint = telemetry.expose(
            db.engine,
            clock=db.clock,
            acquirer=config.acquirer_id,
            addr=config.metrics_host,
            port=port,
        )
    except OSError as exc:
        where = f"{config.metrics_host}:{port}"
        raise ListenError(f"cannot serve /metrics on {where}: {_why(exc)}") from exc
    log.info("metrics listening", host=config.metrics_host, port=endpoint.port)
    return endpoint


def _why(exc: OSError) -> str:
    """The reason alone ("address already in use"), without asyncio's restated address."""
    return str(exc.strerror or exc).rsplit(": ", 1)[-1].lower()


def _address(writer: asyncio.StreamWriter) -> str:
    """The peer's address without its port (the per-address cap's key)."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer)

"""The ISO 8583:1987 issuer connector: one persistent TCP connection to a remote issuer.

Requests go out as 0200 (0220 for offline advices) and replies are matched to them by
(reply MTI, field 11, field 41) through a dict of futures. The MTI is part of the key because
a reversal keeps its original's STAN: a late 0210 must not be taken for the 0410.

A financial request that was sent but got no usable answer — timeout, connection lost,
undecodable reply — is *in doubt*: the issuer may have approved it. The connector queues a
0400 reversal for it before raising, and a background task owned by the connector sends
queued reversals (those from :meth:`Iso8583Connector.reverse` too) in order, retrying with
backoff until a 0410 arrives. A reply that arrives after its request timed out goes to the
late-reply handler: an approval there is exactly the one the reversal is for.

>>> from possettle.clock import SystemClock
>>> Iso8583Connector("127.0.0.1", 8583, SystemClock()).name
'iso8583://127.0.0.1:8583'
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TypeVar

from possettle.cards import mask_pan
from possettle.clock import Clock
from possettle.crypto.keys import Key as CryptoKey
from possettle.upstream.connector import AuthKind, AuthRequest, AuthResult
from possettle.upstream.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from possettle.upstream.messages import (
    Original,
    auth_message,
    auth_result,
    reply_mti,
    reversal_message,
    transmission_time,
)
from possettle.upstream.retry import RetryPolicy
from possettle.upstream.wire import Fields, decode, encode, read_frame

log = logging.getLogger(__name__)
V = TypeVar("V")

Key = tuple[str, str, str]  # (reply MTI, field 11, field 41)
LateReplyHandler = Callable[[str, AuthResult], None]

# A 0410 with one of these says the issuer could not process the reversal yet: send it again.
_RETRY_CODES = frozenset({"91", "96"})
_REMEMBERED = 10_000  # requests kept for a later reverse(); acknowledged reversals kept


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    task: asyncio.Task[None] | None = None
    lost: bool = False


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[Fields]
    conn: _Connection


@dataclass(slots=True)
class _Sent:
    """A financial request as sent, kept so a reversal can repeat it."""

    fields: Fields = field(repr=False)
    auth_code: str | None = None


@dataclass(slots=True)
class _Reversal:
    rrn: str
    fields: Fields = field(repr=False)
    attempts: int = 0


class Iso8583Connector:
    """An :class:`~possettle.upstream.connector.IssuerConnector` for a remote ISO 8583 issuer.

    ``timeout`` bounds connecting and each reversal attempt; :meth:`authorize` has its own
    budget for the reply (and connects within the smaller of the two).
    ``retry``, ``rand`` and ``sleep`` drive the reversal backoff (inject them in tests).
    """

    def __init__(
        self,
        host: str,
        port: int,
        clock: Clock,
        *,
        timeout: float = 5.0,
        zpk: CryptoKey | None = None,
        retry: RetryPolicy | None = None,
        rand: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_late_reply: LateReplyHandler | None = None,
    ) -> None:
        self.name = f"iso8583://{host}:{port}"
        self._host, self._port, self._clock = host, port, clock
        self._timeout = timeout
        #: shared with the issuer; PIN blocks arrive under it and go into field 52 unchanged
        self.zpk = zpk
        self._retry = retry or RetryPolicy()
        self._rand, self._sleep = rand, sleep
        self._on_late_reply = on_late_reply
        self._conn: _Connection | None = None
        self._connect_lock = asyncio.Lock()
        self._pending: dict[Key, _Pending] = {}
        self._stan = 0
        self._sent: OrderedDict[str, _Sent] = OrderedDict()
        self._reversals: OrderedDict[str, _Reversal] = OrderedDict()
        self._reversed: OrderedDict[str, None] = OrderedDict()
        self._wakeup = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._closed = False

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._sender is None:
            self._closed = False
            self._sender = asyncio.create_task(self._send_reversals(), name=f"{self.name} rev")

    async def aclose(self) -> None:
        self._closed = True
        conn = self._conn
        tasks = [t for t in (self._sender, conn.task if conn else None) if t]
        if conn is not None:
            self._lose(conn, UpstreamUnavailable(f"{self.name}: the connector was closed"))
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self._sender = None
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                log.error("%s: background task failed", self.name, exc_info=task.exception())
        if conn is not None:
            with contextlib.suppress(OSError):
                await conn.writer.wait_closed()
        if self._reversals:
            # Never silently: the host must persist these and hand them to the next connector.
            log.error(
                "%s: closed with %d unacknowledged reversal(s): rrn=%s",
                self.name,
                len(self._reversals),
                ",".join(self._reversals),
            )

    async def __aenter__(self) -> Iso8583Connector:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def pending_reversals(self) -> tuple[str, ...]:
        """RRNs of reversals queued and not yet acknowledged, oldest first."""
        return tuple(self._reversals)

    # --- the IssuerConnector interface -------------------------------------------------------

    async def authorize(self, req: AuthRequest, timeout: float) -> AuthResult:  # noqa: ASYNC109
        self._check_running()
        # The host translated the block to our ZPK; without one the issuer gets no field 52.
        pin_block = req.pin_block if self.zpk is not None else None
        original = None
        if req.original_rrn is not None and req.original_rrn in self._sent:
            sent = self._sent[req.original_rrn].fields
            original = Original(sent["t"], sent["11"], sent["7"])
        fields = auth_message(req, self._next_stan(), self._clock.now(), pin_block, original)
        frame = encode(fields)
        financial = req.kind is not AuthKind.BALANCE
        if financial:
            self._remember(self._sent, req.rrn, _Sent(fields))
        conn = await self._connect(min(timeout, self._timeout))  # nothing in doubt yet
        what = f"{fields['t']} stan={fields['11']} rrn={req.rrn} pan={mask_pan(req.pan)}"
        try:
            reply = await self._exchange(conn, frame, fields, timeout)
            result = auth_result(reply)
        except UpstreamTimeout:
            log.warning("%s: no reply in %gs to %s", self.name, timeout, what)
            if financial:
                self._queue_reversal(req.rrn, "98")
            raise
        except (UpstreamUnavailable, UpstreamProtocolError) as exc:
            log.warning("%s: %s got no usable reply: %s", self.name, what, exc)
            if financial:
                self._queue_reversal(req.rrn, "98")
            raise
        if financial and req.rrn in self._sent:
            self._sent[req.rrn].auth_code = result.auth_code
        log.info("%s: %s answered %s", self.name, what, result.response_code)
        return result

    async def reverse(self, req: AuthRequest, reason: str) -> None:
        self._check_running()
        if req.rrn not in self._sent:
            # Not sent through this connector (e.g. before a restart): reverse it as described.
            fields = auth_message(req, self._next_stan(), self._clock.now())
            self._remember(self._sent, req.rrn, _Sent(fields))
        self._queue_reversal(req.rrn, reason)

    # --- sending and receiving ---------------------------------------------------------------

    async def _exchange(
        self, conn: _Connection, frame: bytes, fields: Fields, wait: float
    ) -> Fields:
        """Write one request and wait for its reply on ``conn``."""
        key = (reply_mti(fields["t"]), fields["11"], fields["41"])
        if key in self._pending:
            raise UpstreamUnavailable(f"{self.name}: {key[0]} stan={key[1]} is already waiting")
        future: asyncio.Future[Fields] = asyncio.get_running_loop().create_future()
        self._pending[key] = _Pending(future, conn)
        try:
            self._write(conn, frame)
            try:
                async with asyncio.timeout(wait):
                    return await future
            except TimeoutError as exc:
                raise UpstreamTimeout(
                    f"{self.name}: no reply within {wait:g}s to {fields['t']} "
                    f"stan={fields['11']} rrn={fields['37'].strip()}"
                ) from exc
        finally:
            pending = self._pending.get(key)
            if pending is not None and pending.future is future:
                del self._pending[key]

    async def _connect(self, budget: float) -> _Connection:
        async with self._connect_lock:
            if self._conn is not None and not self._conn.lost:
                return self._conn
            try:
                async with asyncio.timeout(budget):
                    reader, writer = await asyncio.open_connection(self._host, self._port)
            except (OSError, TimeoutError) as exc:
                raise UpstreamUnavailable(f"{self.name}: cannot connect: {exc!r}") from exc
            conn = _Connection(reader, writer)
            conn.task = asyncio.create_task(self._read(conn), name=f"{self.name} reader")
            self._conn = conn
            log.info("%s: connected", self.name)
            return conn

    def _write(self, conn: _Connection, frame: bytes) -> None:
        if conn.lost or conn.writer.is_closing():
            raise UpstreamUnavailable(f"{self.name}: the connection was lost")
        # One write() call per frame keeps frames whole; the kernel buffers far more than a
        # frame, so back-pressure would mean a stuck issuer, which the timeout handles.
        conn.writer.write(frame)

    async def _read(self, conn: _Connection) -> None:
        """The connection's reader task: dispatch frames until the stream ends."""
        why: UpstreamError = UpstreamUnavailable(f"{self.name}: the issuer closed the connection")
        try:
            while True:
                body = await read_frame(conn.reader)
                self._dispatch(conn, body)
        except asyncio.IncompleteReadError:
            log.warning("%s: %s", self.name, why)
        except OSError as exc:
            why = UpstreamUnavailable(f"{self.name}: connection lost: {exc!r}")
            log.warning("%s: %s", self.name, why)
        except UpstreamProtocolError as exc:
            why = exc  # a garbled length prefix: the stream cannot be resynchronised
            log.warning("%s: %s; dropping the connection", self.name, why)
        except Exception:
            log.exception("%s: reader failed", self.name)
            why = UpstreamUnavailable(f"{self.name}: reader failed")
        finally:
            self._lose(conn, why)
            with contextlib.suppress(OSError):
                await conn.writer.wait_closed()

    def _lose(self, conn: _Connection, why: UpstreamError) -> None:
        """Fail every request waiting on ``conn`` with a fresh error of ``why``'s type."""
        if conn.lost:
            return
        if self._conn is conn:
            self._conn = None
        conn.lost = True
        conn.writer.close()
        for key, pending in list(self._pending.items()):
            if pending.conn is conn:
                del self._pending[key]
                if not pending.future.done():
                    pending.future.set_exception(type(why)(str(why)))
        self._wakeup.set()  # the reversal sender may be waiting for a connection to return

    def _dispatch(self, conn: _Connection, body: bytes) -> None:
        fields, error = decode(body)
        key = (fields.get("t", ""), fields.get("11", ""), fields.get("41", ""))
        pending = self._pending.get(key)
        if error is not None:
            log.warning(
                "%s: undecodable reply (mti=%s stan=%s pan=%s): %s",
                self.name,
                key[0] or "?",
                key[1] or "?",
                mask_pan(fields["2"]) if "2" in fields else "-",
                error,
            )
            if pending is not None and not pending.future.done():
                pending.future.set_exception(error)
            return
        if key[0] == "0800":
            self._answer_echo(conn, fields)
        elif pending is not None and not pending.future.done():
            pending.future.set_result(fields)
        else:
            self._late_reply(fields)

    def _answer_echo(self, conn: _Connection, fields: Fields) -> None:
        reply: Fields = {"t": "0810", "39": "00"}
        reply |= {k: fields[k] for k in ("7", "11", "70") if k in fields}
        try:
            self._write(conn, encode(reply))
        except UpstreamError as exc:
            log.warning("%s: cannot answer the issuer's 0800: %s", self.name, exc)

    def _late_reply(self, fields: Fields) -> None:
        mti, stan, rrn = fields["t"], fields.get("11", "?"), fields.get("37", "").strip()
        code = fields.get("39", "??")
        if mti == "0410" and rrn in self._reversals:
            log.info("%s: late 0410 rrn=%s code=%s acknowledges the reversal", self.name, rrn, code)
            if code not in _RETRY_CODES:
                self._acknowledge(rrn)
            return
        if mti not in ("0210", "0230"):
            log.warning("%s: unsolicited %s stan=%s rrn=%s ignored", self.name, mti, stan, rrn)
            return
        log.warning("%s: late %s stan=%s rrn=%s code=%s", self.name, mti, stan, rrn, code)
        if code == "00" and rrn in self._sent:
            self._queue_reversal(rrn, "98")  # normally queued already when it timed out
        elif code == "00":
            log.error("%s: late approval rrn=%s unknown here: reverse it by hand", self.name, rrn)
        if self._on_late_reply is not None:
            try:
                self._on_late_reply(rrn, auth_result(fields))
            except Exception:
                log.exception("%s: late-reply handler failed for rrn=%s", self.name, rrn)

    # --- reversals ---------------------------------------------------------------------------

    def _queue_reversal(self, rrn: str, reason: str) -> None:
        if rrn in self._reversals or rrn in self._reversed:
            return  # one reversal per request, however many times it is asked for
        sent = self._sent[rrn]
        fields = reversal_message(sent.fields, reason, sent.auth_code, self._clock.now())
        self._reversals[rrn] = _Reversal(rrn, fields)
        log.info("%s: reversal queued rrn=%s reason=%s", self.name, rrn, reason)
        self._wakeup.set()

    def _acknowledge(self, rrn: str) -> None:
        self._reversals.pop(rrn, None)
        self._remember(self._reversed, rrn, None)

    async def _send_reversals(self) -> None:
        """The background sender: each queued reversal in order until a 0410 arrives."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._reversals:
                rev = next(iter(self._reversals.values()))
                try:
                    done = await self._send_reversal(rev)
                except UpstreamError as exc:
                    log.warning("%s: reversal rrn=%s not acknowledged: %s", self.name, rev.rrn, exc)
                    done = False
                except Exception:
                    # Our bug: say so loudly, and keep the reversal queued rather than lose it.
                    log.exception("%s: reversal rrn=%s failed", self.name, rev.rrn)
                    done = False
                if done:
                    self._acknowledge(rev.rrn)
                    continue
                delay = self._retry.delay(rev.attempts, self._rand)
                rev.attempts += 1
                await self._sleep(delay)

    async def _send_reversal(self, rev: _Reversal) -> bool:
        fields = rev.fields | {"7": transmission_time(self._clock.now())}
        conn = await self._connect(self._timeout)
        reply = await self._exchange(conn, encode(fields), fields, self._timeout)
        code = reply.get("39", "??")
        if code in _RETRY_CODES:
            log.warning("%s: 0410 rrn=%s answered %s; will retry", self.name, rev.rrn, code)
            return False
        log.info("%s: reversal rrn=%s acknowledged with %s", self.name, rev.rrn, code)
        return True

    # --- small helpers -----------------------------------------------------------------------

    def _check_running(self) -> None:
        if self._closed:
            raise UpstreamUnavailable(f"{self.name}: the connector is closed")
        if self._sender is None:
            raise RuntimeError(f"{self.name}: call start() before using the connector")

    def _next_stan(self) -> str:
        self._stan = self._stan % 999_999 + 1
        return f"{self._stan:06d}"

    @staticmethod
    def _remember(store: OrderedDict[str, V], key: str, value: V) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > _REMEMBERED:
            store.popitem(last=False)

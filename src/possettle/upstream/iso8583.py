"""The ISO 8583:1987 issuer connector: one persistent TCP connection to a remote issuer.

Requests go out as 0200 (0220 for offline advices) and replies are matched to them by
(reply MTI, field 11, field 41) through a dict of futures. The MTI is part of the key because
a reversal keeps its original's STAN: a late 0210 must not be taken for the 0410.

A financial request that was sent but got no usable answer — timeout, connection lost,
undecodable reply — is *in doubt*: the issuer may have approved it. The connector says so
(the error's ``sent``) and keeps nothing queued: the host has stored :meth:`describe` in its
ledger before the request left, and its durable sender calls :meth:`send_reversal` — one
0400 per call, with the original STAN — until a 0410 with a final code arrives. A reply that
arrives after its request timed out goes to the late-reply handler: an approval there is
exactly the one the reversal is for.

Logs go through structlog (``possettle.upstream``) as key=value events; a PAN is only ever
logged masked.

>>> from possettle.clock import SystemClock
>>> Iso8583Connector("127.0.0.1", 8583, SystemClock()).name
'iso8583://127.0.0.1:8583'
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

import structlog

from possettle.cards import mask_pan
from possettle.clock import Clock
from possettle.crypto.keys import Key as CryptoKey
from possettle.upstream.connector import (
    AuthKind,
    AuthRequest,
    AuthResult,
    LateReply,
    LateReplyHandler,
    SentRequest,
    UpstreamReversal,
)
from possettle.upstream.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from possettle.upstream.mapping import (
    Original,
    auth_message,
    auth_result,
    reply_mti,
    reversal_message,
)
from possettle.upstream.wire import Fields, decode, encode, read_frame

log = structlog.get_logger("possettle.upstream")

Key = tuple[str, str, str]  # (reply MTI, field 11, field 41)

_REMEMBERED = 10_000  # requests kept for a void's field 90 and for late replies
# Never stored, not even sealed (PCI DSS: no sensitive authentication data after authorization).
_NOT_KEPT = ("35", "52")


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
    """A financial request's upstream identity, fixed when it is first described."""

    stan: str
    at: datetime
    original: Original | None
    fields: Fields = field(repr=False)  # as sent, without track 2 and PIN block


class Iso8583Connector:
    """An :class:`~possettle.upstream.connector.IssuerConnector` for a remote ISO 8583 issuer.

    ``timeout`` bounds connecting; :meth:`authorize` and :meth:`send_reversal` have their
    own budget for the reply (and connect within the smaller of the two).
    """

    def __init__(
        self,
        host: str,
        port: int,
        clock: Clock,
        *,
        timeout: float = 5.0,
        zpk: CryptoKey | None = None,
        on_late_reply: LateReplyHandler | None = None,
    ) -> None:
        self.name = f"iso8583://{host}:{port}"
        self._host, self._port, self._clock = host, port, clock
        self._timeout = timeout
        #: shared with the issuer; PIN blocks arrive under it and go into field 52 unchanged
        self.zpk = zpk
        self._on_late_reply = on_late_reply
        self._conn: _Connection | None = None
        self._connect_lock = asyncio.Lock()
        self._pending: dict[Key, _Pending] = {}
        self._stan = 0
        self._sent: OrderedDict[str, _Sent] = OrderedDict()
        self._started = False
        self._closed = False

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._started, self._closed = True, False

    async def aclose(self) -> None:
        self._closed = True
        conn = self._conn
        if conn is None:
            return
        self._lose(conn, UpstreamUnavailable(f"{self.name}: the connector was closed"))
        if conn.task is not None:
            conn.task.cancel()
            await asyncio.wait([conn.task])
            if not conn.task.cancelled() and conn.task.exception() is not None:
                exc = conn.task.exception()
                log.error("upstream reader failed", issuer=self.name, error=repr(exc))
        with contextlib.suppress(OSError):
            await conn.writer.wait_closed()

    async def __aenter__(self) -> Iso8583Connector:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def set_late_reply_handler(self, handler: LateReplyHandler | None) -> None:
        self._on_late_reply = handler

    # --- the IssuerConnector interface -------------------------------------------------------

    def describe(self, req: AuthRequest) -> SentRequest:
        sent = self._identity(req)
        return SentRequest(req.rrn, dict(sent.fields))

    async def authorize(self, req: AuthRequest, timeout: float) -> AuthResult:  # noqa: ASYNC109
        self._check_running()
        # The host translated the block to our ZPK; without one the issuer gets no field 52.
        pin_block = req.pin_block if self.zpk is not None else None
        sent = self._identity(req)
        fields = auth_message(req, sent.stan, sent.at, pin_block, sent.original)
        frame = encode(fields)
        financial = req.kind is not AuthKind.BALANCE
        conn = await self._connect(min(timeout, self._timeout))  # nothing in doubt yet
        what = {
            "issuer": self.name,
            "mti": fields["t"],
            "stan": fields["11"],
            "rrn": req.rrn,
            "pan": mask_pan(req.pan),
        }
        doubt = SentRequest(req.rrn, dict(sent.fields)) if financial else None
        try:
            reply = await self._exchange(conn, frame, fields, timeout)
            result = auth_result(reply)
        except UpstreamTimeout as exc:
            log.warning("upstream no reply", timeout=timeout, **what)
            exc.sent = doubt
            raise
        except (UpstreamUnavailable, UpstreamProtocolError) as exc:
            log.warning("upstream no usable reply", error=str(exc), **what)
            exc.sent = doubt  # it was written: the issuer may have acted on it
            raise
        log.debug("upstream answered", code=result.response_code, **what)
        return result

    async def send_reversal(self, reversal: UpstreamReversal, timeout: float) -> AuthResult:  # noqa: ASYNC109
        self._check_running()
        original = reversal.original.message
        fields = reversal_message(original, reversal.reason, reversal.auth_code, self._clock.now())
        conn = await self._connect(min(timeout, self._timeout))
        what = {"issuer": self.name, "stan": fields["11"], "rrn": reversal.rrn}
        try:
            reply = await self._exchange(conn, encode(fields), fields, timeout)
            result = auth_result(reply)
        except UpstreamError as exc:
            log.warning("upstream reversal unanswered", error=str(exc), **what)
            raise
        log.info("upstream reversal answered", code=result.response_code, **what)
        return result

    # --- sending and receiving ---------------------------------------------------------------

    def _identity(self, req: AuthRequest) -> _Sent:
        """The STAN, time and field 90 ``req`` goes out with: fixed on first use per RRN."""
        sent = self._sent.get(req.rrn)
        if sent is not None:
            return sent
        original = None
        if req.original_rrn is not None and req.original_rrn in self._sent:
            before = self._sent[req.original_rrn]
            original = Original(before.fields["t"], before.stan, before.fields["7"])
        stan, at = self._next_stan(), self._clock.now()
        fields = auth_message(req, stan, at, None, original)
        sent = _Sent(stan, at, original, {k: v for k, v in fields.items() if k not in _NOT_KEPT})
        self._sent[req.rrn] = sent
        while len(self._sent) > _REMEMBERED:
            self._sent.popitem(last=False)
        return sent

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
            log.info("upstream connected", issuer=self.name)
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
            log.warning("upstream connection closed", issuer=self.name, error=str(why))
        except OSError as exc:
            why = UpstreamUnavailable(f"{self.name}: connection lost: {exc!r}")
            log.warning("upstream connection lost", issuer=self.name, error=str(why))
        except UpstreamProtocolError as exc:
            why = exc  # a garbled length prefix: the stream cannot be resynchronised
            log.warning("upstream stream garbled; dropping it", issuer=self.name, error=str(why))
        except Exception:
            log.exception("upstream reader failed", issuer=self.name)
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

    def _dispatch(self, conn: _Connection, body: bytes) -> None:
        fields, error = decode(body)
        key = (fields.get("t", ""), fields.get("11", ""), fields.get("41", ""))
        pending = self._pending.get(key)
        if error is not None:
            log.warning(
                "upstream reply undecodable",
                issuer=self.name,
                mti=key[0] or "?",
                stan=key[1] or "?",
                pan=mask_pan(fields["2"]) if "2" in fields else "-",
                error=str(error),
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
            log.warning("upstream echo unanswered", issuer=self.name, error=str(exc))

    def _late_reply(self, fields: Fields) -> None:
        mti, stan, rrn = fields["t"], fields.get("11", "?"), fields.get("37", "").strip()
        if mti not in ("0210", "0230", "0410"):
            log.warning("upstream unsolicited message", issuer=self.name, mti=mti, stan=stan)
            return
        try:
            result = auth_result(fields)
        except UpstreamProtocolError as exc:
            log.warning("upstream late reply unusable", issuer=self.name, mti=mti, error=str(exc))
            return
        log.warning(
            "upstream late reply",
            issuer=self.name,
            mti=mti,
            stan=stan,
            rrn=rrn,
            code=result.response_code,
        )
        if self._on_late_reply is None:
            # Nothing is lost: the request was stored as in doubt and is reversed anyway.
            return
        try:
            self._on_late_reply(LateReply(mti, rrn, result))
        except Exception:
            log.exception("upstream late reply handler failed", issuer=self.name, rrn=rrn)

    # --- small helpers -----------------------------------------------------------------------

    def _check_running(self) -> None:
        if self._closed:
            raise UpstreamUnavailable(f"{self.name}: the connector is closed")
        if not self._started:
            raise RuntimeError(f"{self.name}: call start() before using the connector")

    def _next_stan(self) -> str:
        self._stan = self._stan % 999_999 + 1
        return f"{self._stan:06d}"

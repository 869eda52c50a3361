"""One PS-CUP/1 connection from a terminal's side: STANs, working keys, MAC, framing.

>>> # async with Link("127.0.0.1", port, tid, mid, tmk) as link:
>>> #     await link.sign_on(); reply = await link.send(requests.sale(...))
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass

from possettle.crypto.keys import Key, decode_field62
from possettle.crypto.mac import unionpay_ecb_mac, verify_mac
from possettle.errors import PossettleError
from possettle.iso8583 import codec
from possettle.iso8583.classify import MACED_MTIS, reply_mti
from possettle.iso8583.codec import Fields
from possettle.iso8583.errors import CodecError
from possettle.iso8583.fields import Field60
from possettle.iso8583.framing import Frame, FrameReader, Header, Tpdu
from possettle.link import requests
from possettle.link.failure import LinkFailure, connect_failure, exchange_failure


class LinkError(PossettleError):
    """The host could not be reached, went silent, or sent something unreadable.

    ``kind`` says how the link failed (:class:`~possettle.link.failure.LinkFailure`), decided
    where the socket error or the timeout was caught; ``None`` when the link worked and what
    came back was wrong (a reply MAC that does not verify).
    """

    def __init__(self, message: str, kind: LinkFailure | None = None) -> None:
        super().__init__(message)
        self.kind = kind


class LinkUnreachable(LinkError):
    """The connection could not be opened: nothing was sent, so nothing needs reversing.

    ``kind`` is ``refused``, ``timeout`` or ``no_route``.
    """


class LinkTimeout(LinkError):
    """No reply within the read timeout: the request's fate is unknown (reverse it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, LinkFailure.LOST_REPLY)


class ReplyMacError(LinkError):
    """An approved reply whose MAC does not verify (protocol §5: reversal reason A0)."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """A request as sent and the host's reply."""

    request: Fields
    reply: Fields
    header: Header

    @property
    def code(self) -> str:
        return self.reply.get("39", "")


class Link:
    def __init__(
        self,
        host: str,
        port: int,
        tid: str,
        mid: str,
        tmk: Key,
        *,
        version: str = "010000",
        timeout: float = 10.0,
        tpdu: Tpdu | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.tid, self.mid, self.tmk = tid, mid, tmk
        self.header = Header(sub_version=version)
        self.tpdu = tpdu or Tpdu()
        self.timeout = timeout
        self.stan = 0
        self.batch = 1
        self.pik: Key | None = None
        self.mak: Key | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._frames = FrameReader()
        self._pending: collections.deque[Frame] = collections.deque()

    async def __aenter__(self) -> Link:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection, each address of the host in turn, within one timeout.

        A name with several addresses is tried one address at a time (not by asyncio's
        ``open_connection``, which folds several failures into one ``OSError`` without an
        errno): the failure of the last address tried is the one that says how the link
        failed (an IPv6 address with no route, then an IPv4 address that refused: refused).
        """
        failures: list[tuple[LinkFailure, BaseException]] = []
        try:
            async with asyncio.timeout(self.timeout):
                opened = await self._open(failures)
        except TimeoutError as exc:
            failures.append((LinkFailure.TIMEOUT, exc))
            opened = None
        except OSError as exc:  # the name did not resolve (socket.gaierror)
            failures.append((connect_failure(exc), exc))
            opened = None
        if opened is None:
            kind, cause = failures[-1]
            raise LinkUnreachable(
                f"cannot connect to {self.host}:{self.port}: {cause or kind.value}", kind
            ) from cause
        self._reader, self._writer = opened
        self._frames = FrameReader()

    async def _open(
        self, failures: list[tuple[LinkFailure, BaseException]]
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        loop = asyncio.get_running_loop()
        addresses = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.setblocking(False)
                await loop.sock_connect(sock, address)
                return await asyncio.open_connection(sock=sock)
            except OSError as exc:
                sock.close()
                failures.append((connect_failure(exc), exc))
            except BaseException:  # the timeout's cancellation: do not leak the socket
                sock.close()
                raise
        return None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    def abort(self) -> None:
        """Drop the connection at once (RST): a fault injector's network cut."""
        if self._writer is not None:
            self._writer.transport.abort()

    def next_stan(self) -> int:
        self.stan = self.stan % 999999 + 1
        return self.stan

    def encode(self, fields: Fields) -> bytes:
        maced = fields["t"] in MACED_MTIS and self.mak is not None
        out = dict(fields)
        if maced:
            out["64"] = codec.MAC_PLACEHOLDER
        body = codec.encode(out)
        if maced:
            assert self.mak is not None
            body = codec.with_mac(body, unionpay_ecb_mac(self.mak, codec.mac_input(body)))
        return Frame(self.tpdu, self.header, body).to_bytes()

    async def send_raw(
        self,
        raw: bytes,
        on_sent: Callable[[], None] | None = None,
        accept: Callable[[Frame], bool] | None = None,
    ) -> Frame:
        """Send bytes as they are and wait for the reply frame.

        ``on_sent`` runs once the bytes are handed to the socket, before the reply is awaited
        (the terminal's ``send.*.after`` crash points live there). ``accept`` tells the reply
        from a stale frame (a duplicate, or a late answer to an earlier request, which is
        dropped); all frames within the one read timeout count.
        """
        if self._reader is not None and self._reader.at_eof():
            await self.close()  # the host closed this connection while we were idle
        if self._writer is None or self._reader is None:
            await self.connect()
        assert self._writer is not None and self._reader is not None
        self._pending.clear()  # whatever arrived before this request cannot answer it
        try:
            self._writer.write(raw)
            await self._writer.drain()
            if on_sent is not None:
                on_sent()
            async with asyncio.timeout(self.timeout):
                while True:
                    while self._pending:
                        frame = self._pending.popleft()
                        if accept is None or accept(frame):
                            return frame
                    data = await self._reader.read(8192)
                    if not data:
                        await self.close()
                        raise LinkError("host closed the connection", LinkFailure.RESET)
                    self._pending.extend(self._frames.feed(data))
        except TimeoutError as exc:
            await self.close()
            raise LinkTimeout(f"no reply within {self.timeout}s") from exc
        except OSError as exc:
            await self.close()
            raise LinkError(f"connection lost: {exc}", exchange_failure(exc)) from exc

    async def send(self, fields: Fields, on_sent: Callable[[], None] | None = None) -> Exchange:
        want_mti, want_stan = reply_mti(fields["t"]), fields.get("11")

        def is_reply(frame: Frame) -> bool:
            try:
                head = codec.decode(frame.body)
            except CodecError:
                return False
            return head["t"] == want_mti and head.get("11") == want_stan

        frame = await self.send_raw(self.encode(fields), on_sent, accept=is_reply)
        reply = codec.decode(frame.body)
        if (
            reply.get("39") == "00"
            and reply["t"] in MACED_MTIS
            and self.mak is not None
            and not verify_mac(
                self.mak, codec.mac_input(frame.body), bytes.fromhex(reply.get("64", "00"))
            )
        ):
            raise ReplyMacError(f"reply to STAN {fields.get('11')} has a bad MAC")
        return Exchange(fields, reply, frame.header)

    async def sign_on(self, operator: str = "01") -> Exchange:
        ex = await self.send(
            requests.sign_on(self.tid, self.mid, self.next_stan(), self.batch, operator)
        )
        if ex.code == "00":
            keys = decode_field62(self.tmk, bytes.fromhex(ex.reply["62"]))
            self.pik, self.mak = keys.pik, keys.mak
            self.batch = Field60.parse(ex.reply["60"]).batch
        return ex

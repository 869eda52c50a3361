"""A small, independent "standard ISO 8583 issuer simulator" for the connector tests.

It speaks pyiso8583's ``specs.default`` framed by a 2-byte big-endian length on a real socket
(127.0.0.1, port 0), shares no code with ``possettle.upstream`` and records every message it
receives. What it does with each request is chosen per request MTI: a one-shot ``script``
first, then the standing ``actions``, then approve.

Given a ``zpk``, it is also an issuer that verifies PINs: it decrypts field 52 under the ZPK
itself (cryptography's 3DES and psec's format 0 decoder, no possettle code) and turns an
approval into ``55`` when the PIN is not the card's (``pins``, else ``default_pin``) or the
block does not decode. Each verdict is kept in ``pin_checks``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from iso8583.decoder import decode
from iso8583.encoder import encode
from iso8583.specs import default as SPEC
from psec.pinblock import decode_pinblock_iso_0

ECHOED = ("2", "3", "4", "7", "11", "12", "13", "14", "22", "37", "41", "42", "49")


@dataclass(frozen=True)
class Reply:
    """Answer with ``code`` after ``delay`` seconds (an approval carries ``auth_code``)."""

    code: str = "00"
    delay: float = 0.0
    auth_code: str = "A1B2C3"


@dataclass(frozen=True)
class Drop:
    """Read the request and never answer."""


@dataclass(frozen=True)
class Close:
    """Close the connection instead of answering."""


@dataclass(frozen=True)
class Raw:
    """Answer with these bytes as the message body (framed), e.g. a truncated reply."""

    body: bytes


Action = Reply | Drop | Close | Raw


def encode_body(fields: dict[str, str]) -> bytes:
    body, _ = encode(dict(fields), SPEC)
    return bytes(body)


def clear_pin(zpk: bytes, field52: str, pan: str) -> str | None:
    """The PIN in a format 0 block under ``zpk``, or None when it does not decode."""
    key = zpk + zpk[:8] if len(zpk) == 16 else zpk  # K1K2 is K1K2K1
    decryptor = Cipher(TripleDES(key), modes.ECB()).decryptor()  # one block: ECB is the standard
    try:
        block = bytes.fromhex(field52)
        return decode_pinblock_iso_0(decryptor.update(block) + decryptor.finalize(), pan)
    except ValueError:
        return None


@dataclass
class FakeIssuer:
    actions: dict[str, Action] = field(default_factory=dict)
    script: dict[str, list[Action]] = field(default_factory=dict)
    received: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    connections: int = 0
    zpk: bytes | None = None
    pins: dict[str, str] = field(default_factory=dict)
    default_pin: str = "123456"
    pin_checks: list[bool] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self) -> None:
        """Listen on 127.0.0.1; on the same port as before after a :meth:`stop`."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every connection, like an issuer going down."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def __aenter__(self) -> FakeIssuer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def of_type(self, mti: str) -> list[dict[str, str]]:
        return [m for m in self.received if m["t"] == mti]

    async def wait_for(self, mti: str, count: int = 1, within: float = 2.0) -> list[dict[str, str]]:
        """The first ``count`` messages of type ``mti``, waiting for them to arrive."""
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.of_type(mti)) >= count)
        return self.of_type(mti)[:count]

    async def push(self, fields: dict[str, str]) -> None:
        """Send an unsolicited message (e.g. an 0800 echo test) on every connection."""
        body = encode_body(fields)
        for writer in self._writers:
            writer.write(len(body).to_bytes(2, "big") + body)
            await writer.drain()

    def _next_action(self, mti: str) -> Action:
        queued = self.script.get(mti)
        if queued:
            return queued.pop(0)
        return self.actions.get(mti, Reply())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(2), "big")
                fields, _ = decode(await reader.readexactly(size), SPEC)
                async with self._arrived:
                    self.received.append(fields)
                    self._arrived.notify_all()
                action = self._verify_pin(fields, self._next_action(fields["t"]))
                if isinstance(action, Close):
                    break
                if isinstance(action, Raw):
                    writer.write(len(action.body).to_bytes(2, "big") + action.body)
                elif isinstance(action, Reply) and fields["t"] != "0810":
                    self._spawn(self._reply(writer, fields, action))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._tasks.discard(task)

    def _verify_pin(self, request: dict[str, str], action: Action) -> Action:
        if self.zpk is None or "52" not in request:
            return action
        pan = request.get("2", "")
        right = clear_pin(self.zpk, request["52"], pan) == self.pins.get(pan, self.default_pin)
        self.pin_checks.append(right)
        if isinstance(action, Reply) and action.code == "00" and not right:
            return Reply("55", action.delay)
        return action

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reply(
        self, writer: asyncio.StreamWriter, request: dict[str, str], action: Reply
    ) -> None:
        if action.delay:
            await asyncio.sleep(action.delay)
        mti = request["t"]
        reply = {k: request[k] for k in ECHOED if k in request}
        reply["t"] = mti[:2] + str(int(mti[2]) + 1) + mti[3]
        reply["39"] = action.code
        if action.code == "00" and mti != "0400":
            reply["38"] = action.auth_code
        if writer.is_closing():
            return
        body = encode_body(reply)
        writer.write(len(body).to_bytes(2, "big") + body)

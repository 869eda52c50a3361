"""A real host on a real socket for tests: start, register, stop, kill."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from possettle.clock import Clock
from possettle.crypto.keys import Key
from possettle.host import registry
from possettle.host.config import HostConfig
from possettle.host.server import HostServer, serve
from possettle.ledger.database import Database
from possettle.link.client import Link
from possettle.monitor.metrics import HostTelemetry
from possettle.upstream.connector import (
    AuthRequest,
    AuthResult,
    LateReplyHandler,
    SentRequest,
    UpstreamReversal,
)
from tests.vectors.load import load

KEYS = load()["keys"]
TID, MID, PAN = KEYS["tid"], KEYS["mid"], KEYS["pan"]
TMK = Key.from_hex(KEYS["tmk"])
FOREIGN_PAN = "4111111111111111"
#: the zone PIN key the test issuers share with the host (tests/upstream uses the same)
ZPK = Key.from_hex("0123456789ABCDEFFEDCBA9876543210")


@dataclass
class ApprovingIssuer:
    """An issuer connector that approves everything with ``auth_code``, keeps every request
    it is asked, and fails the test if the host ever reverses one."""

    auth_code: str = "123456"
    zpk: Key | None = ZPK
    name: str = "approving-issuer"
    asked: list[AuthRequest] = field(default_factory=list)

    async def start(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def authorize(self, req: AuthRequest, timeout: float) -> AuthResult:  # noqa: ASYNC109
        self.asked.append(req)
        return AuthResult("00", self.auth_code)

    def describe(self, req: AuthRequest) -> SentRequest:
        return SentRequest(req.rrn, {"rrn": req.rrn})

    async def send_reversal(self, reversal: UpstreamReversal, timeout: float) -> AuthResult:  # noqa: ASYNC109
        raise AssertionError(f"no reversal expected, got one for {reversal.rrn}")

    def set_late_reply_handler(self, handler: LateReplyHandler | None) -> None:
        pass


async def register(url: str, key_file: Path, terminals: dict[str, str] | None = None) -> None:
    db = Database.open(url, key_file=key_file)
    await db.start()
    try:

        def op(conn: object) -> None:
            registry.add_merchant(conn, MID, "Test shop")  # type: ignore[arg-type]
            for tid, tmk in (terminals or {TID: KEYS["tmk"]}).items():
                registry.add_terminal(conn, db.vault, tid, MID, Key.from_hex(tmk))  # type: ignore[arg-type]

        await db.write(op)
    finally:
        await db.close()


@dataclass
class RunningHost:
    server: HostServer
    config: HostConfig
    stop: asyncio.Event
    task: asyncio.Task[None]
    #: what the host reports to (its request latencies, refusals, bad frames), if anyone
    telemetry: HostTelemetry | None = None

    @property
    def port(self) -> int:
        return self.server.port

    def link(self, tid: str = TID, tmk: Key = TMK, **kw: object) -> Link:
        return Link("127.0.0.1", self.port, tid, MID, tmk, timeout=5.0, **kw)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running_host(
    url: str, key_file: Path, *, issuer: str = "sim", clock: Clock | None = None, **config: object
) -> AsyncIterator[RunningHost]:
    cfg = HostConfig(db_url=url, port=0, issuer=issuer, key_file=key_file, **config)  # type: ignore[arg-type]
    stop = asyncio.Event()
    ready: asyncio.Future[HostServer] = asyncio.get_running_loop().create_future()
    telemetry = HostTelemetry()
    task = asyncio.create_task(
        serve(cfg, clock=clock, stop=stop, ready=ready.set_result, telemetry=telemetry)
    )
    done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()
    host = RunningHost(ready.result(), cfg, stop, task, telemetry)
    try:
        yield host
    finally:
        stop.set()
        await task

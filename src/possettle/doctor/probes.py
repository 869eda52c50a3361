"""Probes: look at the device and the link now (printer, reader, storage, host, clock).

Probes never write to the journal. The link probe opens its own connection and sends echo
tests (0820/301) with trace numbers outside the terminal's sequence, so the terminal's STANs
and the host's exactly-once keys are untouched.
"""

from __future__ import annotations

import asyncio
import errno
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from possettle.crypto.keys import Key
from possettle.errors import ConfigError
from possettle.iso8583.fields import NetworkCode
from possettle.link import requests as m
from possettle.link.client import Link, LinkError, LinkTimeout, LinkUnreachable
from possettle.terminal.config import TerminalConfig
from possettle.terminal.printer.simulated import read_state as printer_state
from possettle.terminal.reader import read_state as reader_state
from possettle.terminal.shell import host_clock_offset

ECHOES = 3
PROBE_STAN_BASE = 990000  # echo STANs far from the terminal's own sequence


@dataclass
class LinkProbe:
    connect: str  # ok | refused | timeout | unreachable | error | skipped
    error: str = ""
    echoes_sent: int = 0
    echoes_answered: int = 0
    rtt_ms: list[float] = field(default_factory=list)
    host_offset_s: float | None = None  # host time minus device time

    @property
    def loss(self) -> float:
        return 1.0 - self.echoes_answered / self.echoes_sent if self.echoes_sent else 0.0


def probe_printer(directory: Path, spec: str) -> str:
    if spec not in ("sim", ""):
        return "unknown"  # a real printer is asked when it prints; nothing to read here
    try:
        return printer_state(directory).value
    except ConfigError:
        return "unknown"


def probe_reader(directory: Path) -> str:
    try:
        return reader_state(directory).value
    except ConfigError:
        return "unknown"


# A connect that got no answer at all, or whose route is gone: the local link (cable, Wi-Fi,
# router), as opposed to a host that answers the SYN with a reset (refused).
_NO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN)


def connect_failure(cause: BaseException | None) -> str:
    """How a connect failed: ``refused`` (the host's side said no), ``timeout`` (no answer),
    ``unreachable`` (no route: the interface or the router is down) or ``error``."""
    if isinstance(cause, TimeoutError):
        return "timeout"
    if isinstance(cause, ConnectionRefusedError):
        return "refused"
    if isinstance(cause, OSError) and cause.errno in _NO_ROUTE:
        return "unreachable"
    return "error"


async def probe_link(config: TerminalConfig, device_now: datetime) -> LinkProbe:
    """Connect, then a few echoes: refused / timeout / loss / round trip / host clock."""
    # An echo is not MACed and needs no key; the Link wants a TMK object all the same.
    link = Link(
        config.host,
        config.port,
        config.tid,
        config.mid,
        Key(bytes(16)),
        version=config.version,
        timeout=min(config.timeout, 3.0),
    )
    probe = LinkProbe(connect="ok")
    try:
        await link.connect()
    except LinkUnreachable as exc:
        probe.connect = connect_failure(exc.__cause__)
        probe.error = str(exc)
        return probe
    try:
        for i in range(ECHOES):
            stan = PROBE_STAN_BASE + (int(time.time()) * 10 + i) % 9999
            probe.echoes_sent += 1
            t0 = time.perf_counter()
            try:
                ex = await link.send(
                    m.management(config.tid, config.mid, stan, 1, NetworkCode.ECHO)
                )
            except LinkTimeout:
                continue
            except LinkError as exc:
                probe.error = str(exc)
                break
            probe.rtt_ms.append((time.perf_counter() - t0) * 1000)
            probe.echoes_answered += 1
            if probe.host_offset_s is None:
                probe.host_offset_s = host_clock_offset(ex.reply, device_now)
    finally:
        await link.close()
    return probe


async def maybe_probe_link(config: TerminalConfig | None, device_now: datetime) -> LinkProbe:
    if config is None:
        return LinkProbe(connect="skipped", error="no terminal configuration")
    try:
        return await asyncio.wait_for(probe_link(config, device_now), 15)
    except TimeoutError:
        return LinkProbe(connect="timeout", error="probe timed out")

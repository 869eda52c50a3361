"""Probes: look at the device and the link now (printer, reader, storage, host, clock).

Probes never write to the journal. The printer and the reader are asked through the
terminal's own drivers (:func:`~possettle.terminal.printer.device.open_printer`,
:func:`~possettle.terminal.reader.open_reader`), the way the terminal asks them before a job
or a card: a printer answers ESC/POS status queries, and one that cannot be asked (a file or
dummy printer) is ``unknown``. The link probe opens its own connection and sends echo tests
(0820/301) with trace numbers outside the terminal's sequence, so the terminal's STANs and the
host's exactly-once keys are untouched; a connect that fails is reported with the link's own
failure kind (:class:`~possettle.link.failure.LinkFailure`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from possettle.crypto.keys import Key
from possettle.errors import ConfigError
from possettle.iso8583.fields import NetworkCode
from possettle.link import requests as m
from possettle.link.client import Link, LinkError, LinkTimeout, LinkUnreachable
from possettle.link.failure import LinkFailure
from possettle.terminal.config import TerminalConfig
from possettle.terminal.printer.device import open_printer
from possettle.terminal.printer.status import PrinterCode
from possettle.terminal.reader import ReaderCode, open_reader
from possettle.terminal.shell import host_clock_offset

#: a device probe's answer: ready, cannot tell, or the device's own code
PrinterProbe = PrinterCode | Literal["ok", "unknown"]
ReaderProbe = ReaderCode | Literal["ok", "unknown"]

# Echo tests per probe while they are answered: three would miss a line that loses 30% of the
# replies a third of the time (0.7³), ten 3% of the time. The probe stops after LOST_ENOUGH
# unanswered, since the loss is shown and each costs a read timeout.
ECHOES = 10
LOST_ENOUGH = 2
PROBE_STAN_BASE = 990000  # echo STANs far from the terminal's own sequence


#: why the link was not probed: asked not to (``--no-probe``), no configuration names the
#: host, or the doctor looks from the host's side
SkipReason = Literal["", "no_probe", "no_config", "host_side"]


@dataclass
class LinkProbe:
    connect: LinkFailure | Literal["ok", "skipped"]
    error: str = ""
    why: SkipReason = ""  # with connect == "skipped"
    echoes_sent: int = 0
    echoes_answered: int = 0
    rtt_ms: list[float] = field(default_factory=list)
    host_offset_s: float | None = None  # host time minus device time

    @property
    def loss(self) -> float:
        return 1.0 - self.echoes_answered / self.echoes_sent if self.echoes_sent else 0.0


def probe_printer(directory: Path, spec: str) -> PrinterProbe:
    """Ask the terminal's printer what keeps it from printing, through its driver."""
    try:
        printer = open_printer(spec, directory)
    except ConfigError:
        return "unknown"
    try:
        if not printer.reports_status:
            return "unknown"  # opening a file printer would truncate it, and it cannot say
        code = printer.status()
    finally:
        printer.close()
    return "ok" if code is None else code


def probe_reader(directory: Path) -> ReaderProbe:
    """Ask the terminal's card reader whether it can read a card."""
    code = open_reader(directory).status()
    return "ok" if code is None else code


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
        probe.connect = exc.kind or LinkFailure.NO_ROUTE
        probe.error = str(exc)
        return probe
    try:
        for i in range(ECHOES):
            if probe.echoes_sent - probe.echoes_answered >= LOST_ENOUGH:
                break
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
        return LinkProbe(connect="skipped", error="no terminal configuration", why="no_config")
    try:
        return await asyncio.wait_for(probe_link(config, device_now), 15)
    except TimeoutError:
        return LinkProbe(connect=LinkFailure.TIMEOUT, error="probe timed out")

"""What keeps a receipt printer from printing, as stable codes, and how a printer says so.

The codes are journaled with a failed print (``print_failed``) and are what the doctor reads;
they never change meaning. A printer tells its condition through ESC/POS real-time status,
``DLE EOT n`` (Epson's command set; Citizen, Bixolon, HPRT and the Chinese receipt printers
answer alike), one byte per query, bits 1 and 4 always on:

====  =====================  ==================================================================
 n    status                 bits read here
====  =====================  ==================================================================
 1    printer                3: offline
 2    offline cause          2: cover open · 5: printing stopped at paper end · 6: error
 3    error cause            3: autocutter error · 5: unrecoverable · 6: auto-recoverable
                             (the print head too hot: it prints again once it cools)
 4    roll paper sensor      2–3: paper near its end (still prints) · 5–6: paper end
====  =====================  ==================================================================

>>> offline_cause(FIXED | COVER_OPEN_BIT, None)
<PrinterCode.COVER_OPEN: 'cover_open'>
>>> offline_cause(FIXED | ERROR_BIT, FIXED | AUTOCUTTER_BIT)
<PrinterCode.CUTTER_JAM: 'cutter_jam'>
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class PrinterCode(StrEnum):
    """Why a printer cannot print now (never why it printed: a ready printer has no code)."""

    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    #: does not answer (power, cable, network), or says "offline" without naming a cause
    OFFLINE = "offline"
    CUTTER_JAM = "cutter_jam"
    #: the print head is too hot; it prints again once it has cooled
    OVERHEAT = "overheat"
    #: an error the printer cannot recover from by itself (service it)
    FAULT = "fault"
    #: it answered, then a read or a write to it failed part way
    IO_ERROR = "io_error"


FIXED = 0x12  # bits 1 and 4 of every status byte
OFFLINE_BIT = 0x08  # n = 1
COVER_OPEN_BIT = 0x04  # n = 2
PAPER_END_STOP_BIT = 0x20  # n = 2
ERROR_BIT = 0x40  # n = 2
AUTOCUTTER_BIT = 0x08  # n = 3
UNRECOVERABLE_BIT = 0x20  # n = 3
AUTO_RECOVERABLE_BIT = 0x40  # n = 3
NEAR_END_BITS = 0x0C  # n = 4
PAPER_END_BITS = 0x60  # n = 4

DLE_EOT = b"\x10\x04"
PRINTER_STATUS = DLE_EOT + b"\x01"  # python-escpos's RT_STATUS_ONLINE
OFFLINE_CAUSE = DLE_EOT + b"\x02"
ERROR_CAUSE = DLE_EOT + b"\x03"
PAPER_SENSOR = DLE_EOT + b"\x04"  # python-escpos's RT_STATUS_PAPER
QUERIES = {PRINTER_STATUS: 1, OFFLINE_CAUSE: 2, ERROR_CAUSE: 3, PAPER_SENSOR: 4}


def offline_cause(cause: int, error: int | None) -> PrinterCode:
    """The code of a printer that reports itself offline, from its DLE EOT 2 (and 3) bytes."""
    if cause & COVER_OPEN_BIT:
        return PrinterCode.COVER_OPEN
    if cause & PAPER_END_STOP_BIT:
        return PrinterCode.PAPER_OUT
    if cause & ERROR_BIT and error is not None:
        if error & AUTOCUTTER_BIT:
            return PrinterCode.CUTTER_JAM
        if error & AUTO_RECOVERABLE_BIT:
            return PrinterCode.OVERHEAT
        return PrinterCode.FAULT  # unrecoverable, or an error it does not name
    return PrinterCode.OFFLINE


def ask(device: Any) -> PrinterCode | None:
    """Ask a python-escpos device that can be read from (network, USB, serial, the simulated
    printer) what keeps it from printing; ``None`` when it is ready. The queries go through
    python-escpos's ``query_status`` (its ``is_online`` and ``paper_status`` are queries 1
    and 4 without the causes).

    An empty answer to DLE EOT 1 is a printer that does not answer. Read and write errors
    propagate (the caller translates them).
    """
    status = device.query_status(PRINTER_STATUS)
    if not status:
        return PrinterCode.OFFLINE
    if status[0] & OFFLINE_BIT:
        cause = _byte(device.query_status(OFFLINE_CAUSE))
        error = _byte(device.query_status(ERROR_CAUSE)) if cause & ERROR_BIT else None
        return offline_cause(cause, error)
    # Some printers stay "online" at paper end and say so only through the paper sensor.
    if _byte(device.query_status(PAPER_SENSOR)) & PAPER_END_BITS == PAPER_END_BITS:
        return PrinterCode.PAPER_OUT
    return None


def _byte(answer: bytes) -> int:
    return answer[0] if answer else 0


REPRINT = "then run `possettle terminal reprint`"

_MESSAGES: dict[PrinterCode, tuple[str, str]] = {
    PrinterCode.PAPER_OUT: (
        "is out of paper: load paper, " + REPRINT,
        "打印机缺纸：请装纸后重打印",
    ),
    PrinterCode.COVER_OPEN: (
        "has its cover open: close it, " + REPRINT,
        "打印机纸仓盖未关：请关好后重打印",
    ),
    PrinterCode.OFFLINE: (
        "is offline ({why}): check its power, cable and cover, " + REPRINT,
        "打印机脱机：请检查电源、连线和纸仓盖后重打印",
    ),
    PrinterCode.CUTTER_JAM: (
        "reports a cutter jam: clear the paper at the cutter, " + REPRINT,
        "打印机切刀卡纸：请清除卡纸后重打印",
    ),
    PrinterCode.OVERHEAT: (
        "stopped because its print head is too hot: let it cool, " + REPRINT,
        "打印头过热：请待冷却后重打印",
    ),
    PrinterCode.FAULT: (
        "reports an error it cannot recover from: have it serviced ({why})",
        "打印机故障：请联系维修",
    ),
    PrinterCode.IO_ERROR: (
        "stopped answering part way ({why}): check its cable, " + REPRINT,
        "打印机通信中断：请检查连线后重打印",
    ),
}


def describe(code: PrinterCode, name: str, why: str = "") -> str:
    """The bilingual sentence for ``code`` on printer ``name`` (``why``: what was seen)."""
    en, zh = _MESSAGES[code]
    return f"printer {name} {en.format(why=why or code.value)} / {zh}"

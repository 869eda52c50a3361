"""The terminal's error tree.

::

    TerminalError
    ├── Refused              a local rule said no (operator, limits, hours, input, order);
    │                        carries a stable code and the message in English and Chinese,
    │                        and is journaled so the doctor can read it
    ├── JournalError         the journal cannot be read or written
    │   ├── StorageFull      the configured size limit or the disk is full
    │   └── JournalCorrupt   the integrity check failed
    ├── HostRefused          the host answered with a response code other than 00
    ├── LinkDown             an exchange with the host brought back no reply to act on;
    │   │                    ``kind`` says how the link failed (LinkFailure)
    │   ├── HostUnreachable  the connection could not be opened: nothing was sent
    │   ├── NoReply          sent, then the connection dropped or closed: the fate is unknown
    │   │   └── ReplyTimeout sent, then silence past the read timeout
    │   └── BadReplyMac      a reply whose MAC does not verify (protocol §5: reversal A0)
    ├── PrinterError         the printer could not print; ``code`` is a stable
    │   │                    :class:`~possettle.terminal.printer.status.PrinterCode`
    │   ├── PaperOut         (paper_out)
    │   └── PrinterOffline   (offline, cover_open, io_error)
    └── SoftwareCrash        our bug: the work under :meth:`Pos.session` raised something
                             that is not a possettle error; journaled as ``software_crash``

Lower-layer errors (``sqlite3.Error``, ``OSError``, link errors, escpos errors) are translated
once, where the terminal calls them, with ``raise ... from exc``: the link's errors in
:meth:`possettle.terminal.shell.Terminal.deliver`, the only module that names them, so callers
of the terminal catch this tree alone.

An exception here is a fault: what the caller asked for could not be done. What a message's
answer (or silence) means for the journal — a reversal kept, a settlement stopped at a step —
is a value returned by :mod:`possettle.terminal.operations`, never an exception.
"""

from __future__ import annotations

from typing import Any

from possettle.errors import PossettleError
from possettle.link.failure import LinkFailure
from possettle.terminal.printer.status import PrinterCode


class TerminalError(PossettleError):
    """Base of every error the terminal core raises on purpose."""


class Refused(TerminalError):
    """A local rule refused an operation; ``code`` is stable (the doctor and tests read it)."""

    def __init__(self, code: str, en: str, zh: str, **details: Any) -> None:
        super().__init__(f"{en} / {zh}")
        self.code = code
        self.en = en
        self.zh = zh
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "en": self.en, "zh": self.zh, "details": self.details}


class JournalError(TerminalError):
    """The journal could not be read or written."""


class StorageFull(JournalError):
    """The journal reached its configured size limit, or the disk is full."""


class JournalCorrupt(JournalError):
    """The journal failed its integrity check; settle nothing from it."""


class HostRefused(TerminalError):
    """The host answered with a response code other than ``00``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class LinkDown(TerminalError):
    """An exchange with the host brought back no reply the terminal may act on; ``kind`` says
    how the link failed, when it did (:class:`~possettle.link.failure.LinkFailure`).

    The link's own error is the ``__cause__``.
    """

    def __init__(self, message: str, kind: LinkFailure | None = None) -> None:
        super().__init__(message)
        self.kind = kind


class HostUnreachable(LinkDown):
    """The connection could not be opened: nothing was sent, so nothing needs reversing."""


class NoReply(LinkDown):
    """The request was sent, then the connection dropped or the host closed it: its fate is
    unknown (a 0200 is reversed, a 0220 repeated)."""


class ReplyTimeout(NoReply):
    """The request was sent and no reply came within the read timeout."""


class BadReplyMac(LinkDown):
    """A reply whose MAC does not verify: not to be acted on (protocol §5: reversal reason
    ``A0``, then a fresh sign-on)."""


class PrinterError(TerminalError):
    """The printer could not print; a slip stays queued for a reprint.

    ``code`` says why, as the journal and the doctor read it (never the class name).
    """

    code: PrinterCode = PrinterCode.FAULT

    def __init__(self, message: str, code: PrinterCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class PaperOut(PrinterError):
    """The printer is out of paper (缺纸)."""

    code = PrinterCode.PAPER_OUT


class PrinterOffline(PrinterError):
    """The printer is offline, its cover open, or it does not answer."""

    code = PrinterCode.OFFLINE


class SoftwareCrash(TerminalError):
    """Work under :meth:`possettle.terminal.pos.Pos.session` raised an unexpected exception.

    The core journaled it as ``software_crash`` (the exception's type and crash point, never
    its message, which could hold anything) and left the journal's open marker set, so the
    next start resumes what was interrupted and the doctor reads a software crash, not a
    power cut. The original exception is the ``__cause__``.
    """

    def __init__(self, kind: str, point: str) -> None:
        super().__init__(f"software crash: {kind}" + (f" at {point}" if point else ""))
        self.kind = kind
        self.point = point

"""What came back for one request: the event every decision in this package is driven by.

::

    Answer
    ├── Replied      the host's reply (``resign``: its header asked for a fresh sign-on)
    ├── NotSent      the connection could not be opened: nothing left
    ├── Unanswered   sent, then silence or a dropped connection: the fate is unknown
    └── BadMac       a reply whose MAC does not verify: not to be acted on

The shell (:meth:`possettle.terminal.shell.Terminal.deliver`) turns the link's reply or failure
into one of these. A failure carries the terminal's own error (whose ``__cause__`` is the
link's) for the journal, and for a caller to raise when the failure is a fault to it.

>>> Replied({"39": "00"}).code
'00'
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.iso8583.codec import Fields
from possettle.terminal.errors import BadReplyMac, HostUnreachable, NoReply


@dataclass(frozen=True, slots=True)
class Replied:
    """The host's reply, its MAC verified where the message carries one."""

    reply: Fields
    resign: bool = False  # the header asked for a fresh sign-on (requirement 3)

    @property
    def code(self) -> str:
        return self.reply.get("39", "")


@dataclass(frozen=True, slots=True)
class NotSent:
    """The host could not be reached: nothing was sent, so nothing needs reversing."""

    error: HostUnreachable


@dataclass(frozen=True, slots=True)
class Unanswered:
    """Sent, then silence past the timeout or a dropped connection."""

    error: NoReply


@dataclass(frozen=True, slots=True)
class BadMac:
    """A reply whose MAC does not verify (protocol §5: reversal reason ``A0``)."""

    error: BadReplyMac


Answer = Replied | NotSent | Unanswered | BadMac

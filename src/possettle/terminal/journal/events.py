"""The journal's events: one kind per thing that happened, each with a typed detail.

An ``events`` row is ``(id, at, kind, code, detail)``: ``kind`` an :class:`EventKind` value,
``code`` the one code a reader filters on (a response code, a refusal code, a printer code),
``detail`` the rest as JSON. Writers pass a detail model (the row's kind and code come from
it); readers get :class:`Event` values with the detail parsed back into its model, so the
doctor reads fields (``detail.link_failure``, ``detail.code``), never text.

A row this version cannot read as its kind — a kind it does not know, or a detail that does
not fit (written by an older or newer version, or damaged) — is read as :class:`Legacy` with
what was stored, never an error: the journal of a terminal that was upgraded mid-day still
reads. Extra keys in a known kind's detail are ignored (a newer version may add some).

============================  ===============================================================
kind                          written when
============================  ===============================================================
``unclean_shutdown``          the journal is opened and the last process did not close it
``software_crash``            work under ``Pos.session`` raised something unexpected
``signed_on`` / ``signed_off`` a sign-on succeeded / a sign-off was sent
``sign_on_refused``           the host answered a sign-on with a code other than 00
``key_check_failed``          the host's working keys failed their check values
``batch_mismatch``            sign-on: the host expects another batch; ours is kept
``batch_adopted``             sign-on: our empty batch was dropped for the host's number
``settle_failed``             a settlement stopped (the step, the code, how the link failed)
``settle_unconfirmed``        a 0500 answered 94 without confirming our totals
``no_reply``                  a request left and its reply did not come (how the link failed)
``reversal_stuck``            a reversal stayed undelivered after the configured attempts
``print_failed``              a receipt or slip could not print (a stable printer code)
``refused``                   a local rule refused an operation (the refusal's code)
``storage_full``              a journal write failed for space (kept for readers; a full
                              journal cannot take the event, so nothing writes it today)
``fault_injected``            ``possettle fault …`` changed this terminal on purpose
``recovery``                  the doctor ran a safe recovery (``--fix``) and its result
``link_down``                 the keep-alive found the link down: an echo or status report
                              went unanswered (how the link failed, the state before)
``link_up``                   the keep-alive found it back: an answer after ``link_down``
                              (what showed it, since when it was down)
============================  ===============================================================

>>> row = parse_event(7, "2026-11-26T08:30:00+00:00", "print_failed", "paper_out",
...                   '{"queue_id": 3}')
>>> row.kind, row.detail.code, row.detail.queue_id
(<EventKind.PRINT_FAILED: 'print_failed'>, <PrinterCode.PAPER_OUT: 'paper_out'>, 3)
>>> parse_event(8, "2026-11-26T08:31:00+00:00", "print_failed", "PaperOut", "{}").kind
<EventKind.LEGACY: 'legacy'>
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from possettle.link.failure import LinkFailure
from possettle.terminal.keepalive import LinkState, Via
from possettle.terminal.printer.status import PrinterCode


class EventKind(StrEnum):
    UNCLEAN_SHUTDOWN = "unclean_shutdown"
    SOFTWARE_CRASH = "software_crash"
    SIGNED_ON = "signed_on"
    SIGNED_OFF = "signed_off"
    SIGN_ON_REFUSED = "sign_on_refused"
    KEY_CHECK_FAILED = "key_check_failed"
    BATCH_MISMATCH = "batch_mismatch"
    BATCH_ADOPTED = "batch_adopted"
    SETTLE_FAILED = "settle_failed"
    SETTLE_UNCONFIRMED = "settle_unconfirmed"
    NO_REPLY = "no_reply"
    REVERSAL_STUCK = "reversal_stuck"
    PRINT_FAILED = "print_failed"
    REFUSED = "refused"
    STORAGE_FULL = "storage_full"
    FAULT_INJECTED = "fault_injected"
    RECOVERY = "recovery"
    LINK_DOWN = "link_down"
    LINK_UP = "link_up"
    #: read only: a row this version cannot read as its kind (see :class:`Legacy`)
    LEGACY = "legacy"


class Detail(BaseModel):
    """The typed detail of one kind; ``code`` is the row's code column (not in the JSON)."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)
    KIND: ClassVar[EventKind]

    code: str = ""

    def row(self) -> tuple[EventKind, str, str]:
        """``(kind, code, detail JSON)`` as stored."""
        if self.KIND not in DETAILS:
            raise ValueError(f"a {self.KIND.value} event is read, never written")
        data = self.model_dump(mode="json")
        code = str(data.pop("code"))
        return self.KIND, code, json.dumps(data, ensure_ascii=False, sort_keys=True)


class UncleanShutdown(Detail):
    KIND = EventKind.UNCLEAN_SHUTDOWN
    since: str | None = None  # when the process that stopped had opened the journal
    batch: int | None = None  # the batch open then (not known to the oldest journals)


class SoftwareCrashed(Detail):
    KIND = EventKind.SOFTWARE_CRASH
    type: str  # the exception's class, for the bug report (the doctor shows it, never reads it)
    point: str = ""  # the crash point, when one was named


class SignedOn(Detail):
    KIND = EventKind.SIGNED_ON
    code: str = "00"
    batch: int  # the host's batch


class SignedOff(Detail):
    KIND = EventKind.SIGNED_OFF
    stan: int


_MINVER = re.compile(r"MINVER=(\d{6})")


class SignOnRefused(Detail):
    KIND = EventKind.SIGN_ON_REFUSED
    stan: int
    field63: str = ""

    @property
    def min_version(self) -> str | None:
        """The minimum software version the host named (protocol: a sign-on refused with
        ``58`` carries ``MINVER=`` and six digits in field 63)."""
        found = _MINVER.search(self.field63)
        return found.group(1) if found else None


class KeyCheckFailed(Detail):
    KIND = EventKind.KEY_CHECK_FAILED
    error: str = ""  # what the check said, for the person reading the report


class BatchMismatch(Detail):
    KIND = EventKind.BATCH_MISMATCH
    code: str = "77"
    local: int
    host: int


class BatchAdoption(Detail):
    KIND = EventKind.BATCH_ADOPTED
    code: str = "77"
    local: int
    host: int


class SettleFailed(Detail):
    KIND = EventKind.SETTLE_FAILED
    batch: int
    step: str
    message: str = ""  # for people; nothing reads it
    link: bool = False  # the link failed (``link_failure`` says how, when it is known)
    link_failure: LinkFailure | None = None


class SettleUnconfirmed(Detail):
    KIND = EventKind.SETTLE_UNCONFIRMED
    code: str = "94"
    batch: int
    terminal_totals: str
    host_totals: str


class NoReply(Detail):
    KIND = EventKind.NO_REPLY
    stan: int
    error: str = ""  # for people; nothing reads it
    link_failure: LinkFailure | None = None


class ReversalStuck(Detail):
    KIND = EventKind.REVERSAL_STUCK
    batch: int
    stan: int
    attempts: int


class PrintFailed(Detail):
    KIND = EventKind.PRINT_FAILED
    code: PrinterCode
    queue_id: int


class Refusal(Detail):
    """A local refusal: the refusal's stable code, the operation, the sentence shown, and the
    refusal's own details (the ones readers use are typed; the rest are kept as they came)."""

    model_config = ConfigDict(frozen=True, extra="allow")
    KIND = EventKind.REFUSED
    operation: str
    en: str = ""
    zh: str = ""
    stan: int | None = None
    operator_id: str | None = None


class JournalFull(Detail):
    KIND = EventKind.STORAGE_FULL
    write: str = ""  # the write that failed


class FaultInjected(Detail):
    model_config = ConfigDict(frozen=True, extra="allow")
    KIND = EventKind.FAULT_INJECTED
    fault: str


class Recovery(Detail):
    KIND = EventKind.RECOVERY
    action: str
    result: str
    detail: str = ""


class LinkWentDown(Detail):
    """The keep-alive's echo or status report got no answer (terminal/keepalive.py): one row
    per change, not one per failed echo."""

    KIND = EventKind.LINK_DOWN
    via: Via  # the echo or the status report that went unanswered
    before: LinkState  # up, or unknown (nothing heard since the journal was made)
    link_failure: LinkFailure | None = None  # as the link decided it where its error was caught


class LinkCameUp(Detail):
    """An answer after a ``link_down``: to an echo, a report or the terminal's own work."""

    KIND = EventKind.LINK_UP
    via: Via
    down_since: str | None = None  # when the link was found down (journal time)


class Legacy(Detail):
    """A row this version cannot read as its kind: what was stored, as it was."""

    KIND = EventKind.LEGACY
    stored_kind: str
    data: Any = None  # the detail's JSON value, or its text when it is not JSON


#: the detail model of each kind a row can be written as (every kind but LEGACY)
DETAILS: dict[EventKind, type[Detail]] = {
    d.KIND: d
    for d in (
        UncleanShutdown,
        SoftwareCrashed,
        SignedOn,
        SignedOff,
        SignOnRefused,
        KeyCheckFailed,
        BatchMismatch,
        BatchAdoption,
        SettleFailed,
        SettleUnconfirmed,
        NoReply,
        ReversalStuck,
        PrintFailed,
        Refusal,
        JournalFull,
        FaultInjected,
        Recovery,
        LinkWentDown,
        LinkCameUp,
    )
}


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    at: str
    detail: Detail

    @property
    def kind(self) -> EventKind:
        return self.detail.KIND

    @property
    def code(self) -> str:
        return str(self.detail.code)


def parse_event(id_: int, at: str, kind: str, code: str, detail: str) -> Event:
    """One stored row as an :class:`Event`; a row that does not fit its kind is Legacy."""
    try:
        data: Any = json.loads(detail)
    except ValueError:
        data = detail
    try:
        model = DETAILS.get(EventKind(kind))
    except ValueError:
        model = None
    if model is not None and isinstance(data, dict):
        try:
            return Event(id_, at, model.model_validate({**data, "code": code}))
        except ValidationError:
            pass
    return Event(id_, at, Legacy(code=code, stored_kind=kind, data=data))

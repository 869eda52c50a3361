"""When a terminal tells the host it is alive, and what the link's state is: no I/O here.

A real POS keeps its acquirer informed while nobody pays: an 0820 echo (心跳) once the line has
been idle for ``echo_idle_s``, and a status report every ``status_report_s`` (both from
``terminal.json``; 0 turns either off). The shell, :mod:`possettle.terminal.informer`, asks
:meth:`Keepalive.due` what to send, sends it over the terminal's own link, and hands the
outcome back; the machine answers with the link's state transition, if there is one.

Nothing is due while the terminal is busy (a transaction or settlement in progress): its own
messages show the host it is alive, and an echo must never come between them. Any message of
the terminal's, answered or not, restarts the idle time; a status report that could not be sent
is sent as soon as an answer shows the link is back.

The link's state::

    unknown ──answered──▶ up ──echo or report failed──▶ down ──any message answered──▶ up
       └─────────────────echo or report failed─────────────▲

Only a change is worth a journal line (:attr:`Transition.journaled`): a terminal whose line is
down for an hour writes one ``link_down``, not one a minute. How the link failed is the link's
own :class:`~possettle.link.failure.LinkFailure`, decided where its error was caught and
carried here on the terminal's answer (``refused``, ``timeout`` or ``no_route`` when no
connection opened; ``lost_reply`` or ``reset`` when the message left and nothing came back).

>>> k = Keepalive(echo_idle_s=60, status_report_s=900, state=LinkState.UP, now=0.0)
>>> k.due(59.0, busy=False) is None, k.due(60.0, busy=False), k.due(60.0, busy=True)
(True, <Duty.ECHO: 'echo'>, None)
>>> k.done(Duty.ECHO, 60.5, LinkFailure.LOST_REPLY)
Transition(before=<LinkState.UP: 'up'>, after=<LinkState.DOWN: 'down'>, ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from possettle.link.failure import LinkFailure

#: journal meta: the link's state as the keep-alive last found it (``up`` / ``down``)
LINK_STATE = "link_state"
#: journal meta: when (journal time) the keep-alive last found the state changed
LINK_SINCE = "link_state_since"


class LinkState(StrEnum):
    UNKNOWN = "unknown"  # nothing sent or heard since the terminal's journal was made
    UP = "up"
    DOWN = "down"

    @classmethod
    def read(cls, stored: str | None) -> LinkState:
        """The state kept in the journal; unknown when there is none (or it is not a state)."""
        return next((s for s in cls if s.value == stored), cls.UNKNOWN)


class Duty(StrEnum):
    ECHO = "echo"
    STATUS_REPORT = "status_report"


class Via(StrEnum):
    """What showed the link's state: an echo, a status report, or the terminal's own work."""

    ECHO = "echo"
    STATUS_REPORT = "status_report"
    TRAFFIC = "traffic"


@dataclass(frozen=True, slots=True)
class Transition:
    before: LinkState
    after: LinkState
    via: Via
    failure: LinkFailure | None = None  # how the link failed, on a change to down

    @property
    def journaled(self) -> bool:
        """``up → down``, ``unknown → down`` and ``down → up``; a first answer is no news."""
        return self.after is LinkState.DOWN or self.before is LinkState.DOWN


class Keepalive:
    """The schedule and the link's state, on the monotonic time the shell passes in."""

    def __init__(
        self, *, echo_idle_s: float, status_report_s: float, state: LinkState, now: float
    ) -> None:
        self.echo_idle_s = echo_idle_s
        self.status_report_s = status_report_s
        self.state = state
        self.failure: LinkFailure | None = None
        self.last_exchange = now  # the terminal's last message ended (ours or its own work)
        self._down_at: float | None = now if state is LinkState.DOWN else None
        self._report_at = now + status_report_s if status_report_s else None

    def due(self, now: float, *, busy: bool) -> Duty | None:
        """What to send now, if anything; a status report first (it shows liveness too)."""
        if busy:
            return None
        if self._report_at is not None and now >= self._report_at:
            return Duty.STATUS_REPORT
        if self.echo_idle_s and now - self.last_exchange >= self.echo_idle_s:
            return Duty.ECHO
        return None

    def wait(self, now: float) -> float | None:
        """Seconds until something may be due (0: now); None when both duties are off."""
        times = []
        if self._report_at is not None:
            times.append(self._report_at)
        if self.echo_idle_s:
            times.append(self.last_exchange + self.echo_idle_s)
        return max(0.0, min(times) - now) if times else None

    def traffic(
        self, *, exchanged: float | None, answered: float | None, now: float
    ) -> Transition | None:
        """The terminal's own messages: each restarts the idle time, an answer shows the link
        is up (``exchanged``/``answered``: when its last message ended / was last answered)."""
        if exchanged is not None and exchanged > self.last_exchange:
            self.last_exchange = exchanged
        if answered is not None and self._down_at is not None and answered > self._down_at:
            return self._up(Via.TRAFFIC, now)
        return None

    def done(self, duty: Duty, now: float, failure: LinkFailure | None = None) -> Transition | None:
        """The outcome of a duty: answered (any response code) when ``failure`` is None, else
        how the link failed."""
        self.last_exchange = now
        if duty is Duty.STATUS_REPORT and self._report_at is not None:
            self._report_at = now + self.status_report_s
        via = Via(duty.value)
        if failure is None:
            return self._up(via, now) if self.state is not LinkState.UP else None
        self.failure = failure
        if self.state is LinkState.DOWN:
            return None
        before, self.state, self._down_at = self.state, LinkState.DOWN, now
        return Transition(before, LinkState.DOWN, via, failure)

    def _up(self, via: Via, now: float) -> Transition:
        before, self.state, self._down_at, self.failure = self.state, LinkState.UP, None, None
        if before is LinkState.DOWN and self._report_at is not None:
            self._report_at = now  # what the host missed while the line was down
        return Transition(before, LinkState.UP, via)

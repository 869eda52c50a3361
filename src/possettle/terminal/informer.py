"""The terminal keeps the host informed: idle echoes and status reports on its own schedule.

The schedule and the link's state are :mod:`.keepalive` (no I/O); this is its asyncio shell. It
sends through the terminal's own link and STAN sequence (the journal's counter, so an echo never
takes a transaction's STAN), never while a transaction or settlement is in progress
(:meth:`~possettle.terminal.shell.Terminal.working`), and one message at a time with the
terminal's own work. It sends through the terminal's boundary
(:meth:`~possettle.terminal.shell.Terminal.deliver`) and reads its answers, never the link's
errors: how the link failed is the ``kind`` the terminal's error carries. A change of the link's
state is kept in the journal — meta :data:`~possettle.terminal.keepalive.LINK_STATE` and
:data:`~possettle.terminal.keepalive.LINK_SINCE`, and one ``link_down`` / ``link_up`` event per
change (:mod:`possettle.terminal.journal.events`) — for the doctor, ``possettle terminal
status`` and the console.

The CLI's ``possettle terminal run``, a library user and the simulator run it the same way::

    async with Pos.session(directory) as pos, Informer(pos.terminal).running():
        ...  # the shop's day: the host sees the terminal alive while nobody pays

Tests drive :meth:`Informer.step` on a :class:`~possettle.clock.FixedClock`, or :meth:`run` with
a ``sleep`` that moves that clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from possettle.link.failure import LinkFailure
from possettle.terminal.journal.events import LinkCameUp, LinkWentDown
from possettle.terminal.keepalive import (
    LINK_SINCE,
    LINK_STATE,
    Duty,
    Keepalive,
    LinkState,
    Transition,
)
from possettle.terminal.operations.answer import Replied
from possettle.terminal.scheduled_report import encode, scheduled_report
from possettle.terminal.shell import Terminal

Sleep = Callable[[float], Awaitable[None]]
#: the longest the loop sleeps while the terminal is busy and something is overdue
BUSY_POLL_S = 1.0


@dataclass(frozen=True, slots=True)
class Sent:
    """One echo or status report: the host's answer, or why there was none."""

    duty: Duty
    code: str  # the response code; "" when there was none to read
    failure: LinkFailure | None  # how the link failed; None when the host answered
    transition: Transition | None

    @property
    def answered(self) -> bool:
        return self.failure is None


class Informer:
    """Idle echoes and status reports for one open terminal, on its configured schedule."""

    def __init__(self, terminal: Terminal, *, sleep: Sleep = asyncio.sleep) -> None:
        self.terminal = terminal
        self.clock = terminal.base_clock
        self._sleep = sleep
        cfg = terminal.config
        self.keepalive = Keepalive(
            echo_idle_s=cfg.echo_idle_s,
            status_report_s=cfg.status_report_s,
            state=LinkState.read(terminal.journal.get_meta(LINK_STATE)),
            now=self.clock.monotonic(),
        )
        #: echoes and reports sent and answered since start (``possettle terminal run``)
        self.counts: Counter[str] = Counter()
        smallest = min((s for s in (cfg.echo_idle_s, cfg.status_report_s) if s), default=0.0)
        self._poll = min(BUSY_POLL_S, smallest / 4) if smallest else BUSY_POLL_S
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> LinkState:
        return self.keepalive.state

    async def step(self) -> Sent | None:
        """Send what is due now, if anything, and record what the link's state became."""
        activity = self.terminal.activity
        moved = self.keepalive.traffic(
            exchanged=activity.last_exchange,
            answered=activity.last_answer,
            now=self.clock.monotonic(),
        )
        if moved is not None:
            self._record(moved)
        duty = self.keepalive.due(self.clock.monotonic(), busy=activity.busy > 0)
        if duty is None:
            return None
        code, failure = await self._send(duty)
        self.counts[f"{duty.value}_sent"] += 1
        if failure is None:
            self.counts[f"{duty.value}_answered"] += 1
        moved = self.keepalive.done(duty, self.clock.monotonic(), failure)
        if moved is not None:
            self._record(moved)
        return Sent(duty, code, failure, moved)

    async def _send(self, duty: Duty) -> tuple[str, LinkFailure | None]:
        """The response code and how the link failed (None: the host answered)."""
        failure: LinkFailure | None = None
        # The host closes a connection that was idle as long as the terminal waits before its
        # echo (60 s both by default): a connection reset so is tried once more, afresh.
        for _ in range(2):
            if duty is Duty.ECHO:
                answer = await self.terminal.send_echo()
            else:
                report = encode(scheduled_report(self.terminal.journal))
                answer = await self.terminal.send_status_report(report)
            if isinstance(answer, Replied):
                return answer.code, None  # any code, 00 or a refusal: the host is reachable
            # No reply to act on; the terminal's error says how the link failed. None is a
            # reply that came back wrong (a bad MAC, which an 0830 does not carry): the line
            # works all the same.
            failure = answer.error.kind
            if failure is not LinkFailure.RESET:
                break
        return "", failure

    def _record(self, t: Transition) -> None:
        journal = self.terminal.journal
        since = journal.get_meta(LINK_SINCE)
        with journal.write("event") as conn:
            journal.set_meta(conn, LINK_STATE, t.after.value)
            journal.set_meta(conn, LINK_SINCE, journal.now())
            if t.journaled and t.after is LinkState.DOWN:
                journal.add_event(
                    conn, LinkWentDown(via=t.via, before=t.before, link_failure=t.failure)
                )
            elif t.journaled:
                journal.add_event(conn, LinkCameUp(via=t.via, down_since=since))

    async def run(self) -> None:
        """Until cancelled: do what is due, then sleep until something may be (returns at once
        when both echoes and reports are turned off)."""
        while True:
            await self.step()
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # A cancel a lower layer swallowed (it raced an error it then raised): stop
                # all the same, or whoever cancelled waits for an endless loop.
                raise asyncio.CancelledError
            wait = self.keepalive.wait(self.clock.monotonic())
            if wait is None:
                return
            # nothing sent while the terminal is busy: look again shortly, not in a hot loop
            await self._sleep(wait if wait > 0 else self._poll)

    def start(self) -> None:
        """:meth:`run` in a task of its own, kept (never fire-and-forget) until :meth:`stop`."""
        if self._task is None:
            name = f"informer {self.terminal.config.tid}"
            self._task = asyncio.create_task(self.run(), name=name)

    async def stop(self) -> None:
        """End the task; a failure inside it is raised here, never lost."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait([task])
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Informer]:
        """:meth:`start` for the body's duration, then :meth:`stop` (whose failure gives way to
        the body's own)."""
        self.start()
        try:
            yield self
        except BaseException:
            with contextlib.suppress(Exception):
                await self.stop()
            raise
        await self.stop()

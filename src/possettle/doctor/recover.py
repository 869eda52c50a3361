"""The safe recoveries (causes.md): sign on again, send pending reversals, resume the
settlement (batch upload included, the host's batch adopted by the sign-on), queue a reprint,
retry with backoff. Never delete or clear an unsettled transaction; never resend a sale
without learning its fate first. Every recovery is journaled (``recovery`` events).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from possettle.errors import PossettleError
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import Recovery
from possettle.terminal.pos import Pos

RETRIES = 3
BACKOFF_S = 0.5


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try of a recovery came to: done, or not (yet) and why. A recovery that did not
    succeed is an answer, not an exception; a fault of the terminal (the host unreachable, a
    sign-on refused) is its error, caught by :func:`run`."""

    ok: bool
    detail: str


async def _sign_on(pos: Pos) -> Attempt:
    """Sign on again, then retry (causes.md): an interrupted settlement goes on from its step.

    A settlement of an empty batch the host never opened is dropped by the sign-on, which
    takes the host's batch number (batch.sequence_mismatch); the retry is then the settlement
    of that batch.
    """
    before = q.unfinished_settlement(pos.journal.conn)
    await pos.sign_on()
    done = "signed on again; working keys and batch number taken from the host"
    if q.unfinished_settlement(pos.journal.conn) is not None:
        return _then(done, await _resume_settlement(pos))
    if before is not None:
        report = await pos.settle()
        if not report.ok:
            failure = report.failure or {}
            return Attempt(
                False,
                f"settlement of batch {report.batch} stopped at {failure.get('step')}: "
                f"{failure.get('message')}",
            )
        return Attempt(True, f"{done}; batch {report.batch} settled ({report.result})")
    return Attempt(True, done)


async def _send_reversals(pos: Pos) -> Attempt:
    """Deliver the blocking reversals first; the settlement they held up then goes on."""
    left = await pos.payments.send_reversals()
    if left:
        return Attempt(False, f"{left} reversal(s) still pending")
    done = "pending reversals delivered"
    if q.unfinished_settlement(pos.journal.conn) is None:
        return Attempt(True, done)
    return _then(done, await _resume_settlement(pos))


async def _resume_settlement(pos: Pos) -> Attempt:
    if q.unfinished_settlement(pos.journal.conn) is None:
        await pos.payments.recover()
        return Attempt(True, "nothing interrupted; reversals and advices sent")
    report = await pos.settle()
    if not report.ok:
        failure = report.failure or {}
        message = f"settlement stopped at {failure.get('step')}: {failure.get('message')}"
        return Attempt(False, message)
    return Attempt(True, f"settlement of batch {report.batch:06d} finished: {report.result}")


async def _queue_reprint(pos: Pos) -> Attempt:
    left = pos.printing.flush(reprint=True)
    if left:
        return Attempt(False, f"{left} document(s) still queued: the printer is not ready")
    return Attempt(True, "queued slips printed")


def _then(done: str, after: Attempt) -> Attempt:
    """A first part done, then ``after``: its failure alone says what is left."""
    return Attempt(True, f"{done}; {after.detail}") if after.ok else after


ACTIONS: dict[str, Callable[[Pos], Awaitable[Attempt]]] = {
    "sign_on": _sign_on,
    "send_reversals": _send_reversals,
    "resume_settlement": _resume_settlement,
    "queue_reprint": _queue_reprint,
}


async def run(pos: Pos, action: str, *, retries: int = RETRIES) -> dict[str, str]:
    """Run one safe action with bounded retries and backoff; journal what happened."""
    fn = ACTIONS[action]
    outcome = {"action": action, "result": "failed", "detail": ""}
    for attempt in range(1, retries + 1):
        try:
            tried = await fn(pos)
        except PossettleError as exc:  # the terminal's fault: the host unreachable, ...
            tried = Attempt(False, str(exc))
        result = "ok" if tried.ok else "failed"
        outcome = {"action": action, "result": result, "detail": tried.detail}
        if tried.ok:
            break
        if attempt < retries:
            await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1))
    result = outcome["result"]
    pos.journal.event(Recovery(code=result, action=action, result=result, detail=outcome["detail"]))
    return outcome

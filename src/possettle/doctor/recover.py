"""The safe recoveries (causes.md): sign on again, send pending reversals, resume the
settlement (batch upload included, the host's batch adopted by the sign-on), queue a reprint,
retry with backoff. Never delete or clear an unsettled transaction; never resend a sale
without learning its fate first. Every recovery is journaled (``recovery`` events).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from possettle.errors import PossettleError
from possettle.terminal.journal import queries as q
from possettle.terminal.pos import Pos

RETRIES = 3
BACKOFF_S = 0.5


async def _sign_on(pos: Pos) -> str:
    """Sign on again, then retry (causes.md): an interrupted settlement goes on from its step.

    A settlement of an empty batch the host never opened is dropped by the sign-on, which
    takes the host's batch number (batch.sequence_mismatch); the retry is then the settlement
    of that batch.
    """
    before = q.unfinished_settlement(pos.journal.conn)
    await pos.sign_on()
    done = "signed on again; working keys and batch number taken from the host"
    if q.unfinished_settlement(pos.journal.conn) is not None:
        return f"{done}; {await _resume_settlement(pos)}"
    if before is not None:
        report = await pos.settle()
        if not report.ok:
            failure = report.failure or {}
            raise RuntimeError(
                f"settlement of batch {report.batch} stopped at {failure.get('step')}: "
                f"{failure.get('message')}"
            )
        return f"{done}; batch {report.batch} settled ({report.result})"
    return done


async def _send_reversals(pos: Pos) -> str:
    """Deliver the blocking reversals first; the settlement they held up then goes on."""
    left = await pos.payments.send_reversals()
    if left:
        raise RuntimeError(f"{left} reversal(s) still pending")
    done = "pending reversals delivered"
    if q.unfinished_settlement(pos.journal.conn) is None:
        return done
    return f"{done}; {await _resume_settlement(pos)}"


async def _resume_settlement(pos: Pos) -> str:
    if q.unfinished_settlement(pos.journal.conn) is None:
        await pos.payments.recover()
        return "nothing interrupted; reversals and advices sent"
    report = await pos.settle()
    if not report.ok:
        failure = report.failure or {}
        raise RuntimeError(f"settlement stopped at {failure.get('step')}: {failure.get('message')}")
    return f"settlement of batch {report.batch:06d} finished: {report.result}"


async def _queue_reprint(pos: Pos) -> str:
    left = pos.printing.flush(reprint=True)
    if left:
        raise RuntimeError(f"{left} document(s) still queued: the printer is not ready")
    return "queued slips printed"


ACTIONS: dict[str, Callable[[Pos], Awaitable[str]]] = {
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
            outcome = {"action": action, "result": "ok", "detail": await fn(pos)}
            break
        except (PossettleError, RuntimeError) as exc:
            outcome = {"action": action, "result": "failed", "detail": str(exc)}
            if attempt < retries:
                await asyncio.sleep(BACKOFF_S * 2 ** (attempt - 1))
    pos.journal.event("recovery", outcome["result"], dict(outcome))
    return outcome

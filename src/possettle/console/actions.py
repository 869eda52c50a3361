"""What an operator may do from the console, each change and its audit record in one transaction.

The list is short on purpose and every item is safe (causes.md, "Principles"): re-sign-on only
sets a flag the host turns into header processing requirement ``3`` on the terminal's next
reply; disabling a terminal makes the host refuse it, it deletes nothing; a doctor run only
reads. Money is never touched from here. Doing the change and writing its audit record in the
same transaction means there is no action without its record and no record without the action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.engine import Engine

from possettle.clock import Clock
from possettle.console import bridge
from possettle.console.auth import User
from possettle.console.errors import ActionRefused
from possettle.doctor.run import diagnose_from_host
from possettle.host.errors import RegistryError
from possettle.host.registry import get_terminal, set_terminal_status
from possettle.ledger.kinds import TerminalStatus
from possettle.ledger.terminal_state import mark_needs_signon


class Action(StrEnum):
    DOCTOR = "doctor"
    SIGNON = "signon"
    DISABLE = "disable"
    ENABLE = "enable"


@dataclass(frozen=True, slots=True)
class Outcome:
    action: str
    target: str
    at: datetime
    result: dict[str, Any]


def terminal_action(engine: Engine, clock: Clock, user: User, tid: str, action: Action) -> Outcome:
    """Run ``action`` on terminal ``tid`` as ``user`` and audit it."""
    now = clock.now()
    with engine.connect() as conn:
        if get_terminal(conn, tid) is None:
            raise ActionRefused(f"terminal {tid!r} is not registered")
    result: dict[str, Any] = {}
    if action is Action.DOCTOR:
        report = diagnose_from_host(engine, tid, clock).as_dict()
        result = {"report": report}
        detail: dict[str, Any] = {
            "ok": report["ok"],
            "causes": [d["cause"] for d in report["diagnoses"][:4]],
        }
    else:
        detail = {}
    with engine.begin() as conn:
        if action is Action.SIGNON:
            mark_needs_signon(conn, tid)
        elif action in (Action.DISABLE, Action.ENABLE):
            status = TerminalStatus.DISABLED if action is Action.DISABLE else TerminalStatus.ACTIVE
            try:
                set_terminal_status(conn, tid, status)
            except RegistryError as e:
                raise ActionRefused(str(e)) from e
            detail = {"status": status.value}
        bridge.record(conn, user.username, f"terminal.{action.value}", tid, detail, now)
    return Outcome(action.value, tid, now, result)


def acknowledge(engine: Engine, clock: Clock, user: User, alert_id: int, note: str) -> Outcome:
    """Acknowledge an open alert with a note (who and when are stored on the alert and audited)."""
    now = clock.now()
    note = note.strip()[:500]
    with engine.begin() as conn:
        bridge.acknowledge_alert(conn, alert_id, user.username, note, now)
        target = f"alert:{alert_id}"
        bridge.record(conn, user.username, "alert.acknowledge", target, {"note": note}, now)
    return Outcome("acknowledge", f"alert:{alert_id}", now, {})


def resolve(engine: Engine, clock: Clock, user: User, alert_id: int) -> Outcome:
    """Resolve an alert by hand and audit it."""
    now = clock.now()
    with engine.begin() as conn:
        bridge.resolve_alert(conn, alert_id, now)
        bridge.record(conn, user.username, "alert.resolve", f"alert:{alert_id}", {}, now)
    return Outcome("resolve", f"alert:{alert_id}", now, {})

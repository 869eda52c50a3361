"""``possettle fault clock-skew|stale-keys|batch``: terminal-side faults, on purpose.

Each changes one terminal directory the way the fault would in the field, and journals a
``fault_injected`` event so a later reader knows the fault was deliberate. None of them
touches a transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from possettle.cli.common import JsonOption, out, print_json, user_errors
from possettle.clock import SystemClock
from possettle.crypto.keys import generate_key
from possettle.terminal.config import TerminalConfig
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.events import FaultInjected
from possettle.terminal.shell import Terminal

DirOption = Annotated[
    Path, typer.Option("--dir", envvar="POSSETTLE_TERMINAL_DIR", help="The terminal's directory.")
]


def _done(as_json: bool, what: str, **data: object) -> None:
    if as_json:
        print_json({"ok": True, "fault": what, **data})
    else:
        out().print(f"fault injected: {what} {data}")


def clock_skew_command(
    directory: DirOption,
    seconds: Annotated[float, typer.Option("--seconds", help="Offset of the device clock.")],
    as_json: JsonOption = False,
) -> None:
    """Run the terminal's device clock SECONDS off (0 puts it right)."""
    with user_errors():
        cfg = TerminalConfig.load(directory)
        cfg.with_changes(clock_skew_seconds=seconds).save(directory)
    _done(as_json, "clock-skew", seconds=seconds)


def stale_keys_command(directory: DirOption, as_json: JsonOption = False) -> None:
    """Replace the terminal's working keys with keys the host never issued (keys out of sync:
    the next MACed message gets A0; a fresh sign-on repairs it)."""
    with user_errors():
        t = Terminal.open(directory, clock=SystemClock())
        try:
            with t.journal.write("meta") as conn:
                q.store_key(conn, t.journal.vault, "pik", generate_key(16))
                q.store_key(conn, t.journal.vault, "mak", generate_key(8))
                t.journal.add_event(conn, FaultInjected(fault="stale-keys"))
        finally:
            t.journal.close()
    _done(as_json, "stale-keys")


def batch_command(
    directory: DirOption,
    batch: Annotated[int, typer.Option("--set", help="The batch number the terminal will use.")],
    as_json: JsonOption = False,
) -> None:
    """Put the terminal's batch number out of step with the host's (77 at settlement)."""
    with user_errors():
        if not 1 <= batch <= 999999:
            raise typer.BadParameter("--set must be 1..999999")
        t = Terminal.open(directory, clock=SystemClock())
        try:
            with t.journal.write("meta") as conn:
                before = q.current_batch(conn)
                q.set_batch(conn, batch)
                injected = {"fault": "batch", "from": before, "to": batch}
                t.journal.add_event(conn, FaultInjected.model_validate(injected))
        finally:
            t.journal.close()
    _done(as_json, "batch", batch=batch)

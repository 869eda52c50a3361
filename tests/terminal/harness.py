"""A real host on a real socket and terminal directories pointed at it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from possettle.clock import FixedClock
from possettle.terminal.config import TerminalConfig
from possettle.terminal.pos import Pos
from possettle.terminal.setup import init_terminal
from tests.host.harness import KEYS, MID, TID, TMK

CUP_PAN = "6222021234567890128"
CUP_PAN_2 = "6212345678901234569"
VISA_PAN = "4111111111111111"
# 10:00 in Beijing: inside business hours and the settlement window.
DAYTIME = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)


def make_terminal(directory: Path, port: int, *, tid: str = TID, **config: object) -> Path:
    # generous: a loaded CI machine must not turn a slow reply into a reversal
    config.setdefault("timeout", 10.0)
    # The in-process Pos runs on DAYTIME while a CLI run of the same terminal (crash points,
    # faults) uses the real clock plus the offset the sign-on learned: its shop-local time is
    # then anywhere in the day, and the default settlement window (00:30-23:30) would refuse
    # at some hours. Tests of the window give their own policy.
    config.setdefault("policy", {"settlement_window": "always"})
    cfg = TerminalConfig(tid=tid, mid=MID, port=port, **config)  # type: ignore[arg-type]
    init_terminal(directory, cfg, TMK)
    return directory


def open_pos(directory: Path, clock: FixedClock | None = None) -> Pos:
    return Pos.open(directory, clock=clock or FixedClock(DAYTIME))


__all__ = ["KEYS", "MID", "TID", "TMK", "make_terminal", "open_pos"]

"""A terminal with a settled or failed day, against a real host, for the doctor to look at."""

from __future__ import annotations

from pathlib import Path

from possettle.clock import SystemClock
from possettle.doctor.model import Report
from possettle.doctor.run import Options, diagnose
from possettle.ledger.engine import create_engine_for
from possettle.terminal.pos import Pos
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN
from tests.terminal.harness import make_terminal as _make

ALWAYS = {"settlement_window": "always"}


def make_terminal(directory: Path, port: int, **config: object) -> Path:
    """A terminal on the real clock (the doctor compares it with the host's), always open."""
    policy = config.pop("policy", ALWAYS)
    return _make(directory, port, policy=policy, **config)


def open_pos(term: Path) -> Pos:
    return Pos.open(term, clock=SystemClock())


async def trade(term: Path, sales: int = 5) -> None:
    pos = open_pos(term)
    try:
        await pos.sign_on()
        for i in range(sales):
            r = await pos.sale([CUP_PAN, CUP_PAN_2, VISA_PAN][i % 3], 100 + i, expiry="3012")
            assert r.approved
    finally:
        await pos.close()


async def settle(term: Path) -> dict[str, object]:
    pos = open_pos(term)
    try:
        return (await pos.settle()).as_dict()
    finally:
        await pos.close()


async def doctor(term: Path, url: str | None = None, **kw: object) -> Report:
    engine = create_engine_for(url) if url else None
    try:
        return await diagnose(term, Options(host_engine=engine, **kw))  # type: ignore[arg-type]
    finally:
        if engine is not None:
            engine.dispose()


def top(report: Report) -> str:
    assert report.diagnoses, report.as_dict()
    return report.diagnoses[0].cause.id

"""A storm of 20,000 mutated golden frames against a real host process, then the evidence.

The host is ``possettle host serve`` on a fresh SQLite ledger made with the CLI (the golden
terminal registered, so fuzzed frames reach its sign-on, settlement and MAC checks), its log
in a file. The frames come from :mod:`possettle.sim.fuzz` with a fixed seed: first every
truncation of every golden frame, then one to four mutators each (bit flips, length lies,
bad BCD, undefined bitmap bits, oversized LLVARs, retagged messages, control bytes, random
bytes), over eight connections at once. The storm runs in two halves so the ledger can be
counted in between.

Afterwards a user relies on: the host is still up and answered or closed every frame; a
terminal can still sign on, sell and settle; no card number is in clear in the log, the
ledger or its WAL (every Luhn-valid number, and the corpus's PAN in any form); and bad frames
do not make the ledger grow — the second half adds rows only for what the host accepted.

Replay a frame: ``Plan(Corpus.load(VECTORS), SEED).mutant(index)``; another seed:
``POSSETTLE_FUZZ_SEED=N``.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from possettle.sim.fuzz import Corpus, FuzzDriver, Leak, Plan, Tally
from possettle.sim.fuzz.leaks import masked_text, scan_cells, scan_files
from possettle.sim.fuzz.target import DayCheck, FuzzTarget, Terminal, correct_day
from tests.vectors.load import VECTORS_PATH, load

FRAMES = 20_000
SEED = int(os.environ.get("POSSETTLE_FUZZ_SEED", "20250610"))
CONNECTIONS = 8
#: rows a frame the host accepted (39=00) may add: a request record, an entry, upload items…
ROWS_PER_ACCEPTED = 8
#: rows the second half may add whatever it sends: new counters, a bounded sample filling up
ROW_SLACK = 64

pytestmark = pytest.mark.timeout(600)

KEYS = load()["keys"]
TERMINAL = Terminal(KEYS["tid"], KEYS["mid"], KEYS["tmk"])


@dataclass(repr=False)  # the evidence is printed by the fixture and the failing test
class Storm:
    first: Tally
    second: Tally
    rows_before: dict[str, int]
    rows_middle: dict[str, int]
    rows_after: dict[str, int]
    ledger_bytes_before: dict[str, int]
    ledger_bytes_after: dict[str, int]
    alive_after_storm: bool
    exit_code: int | None
    day: DayCheck | None
    day_error: str
    log_leaks: list[Leak]
    ledger_leaks: list[Leak]
    log_tail: str
    log_errors: list[str]


def _growth(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t, 0)}


async def _storm(workdir: Path) -> Storm:
    corpus = Corpus.load(VECTORS_PATH)
    plan = Plan(corpus, SEED)
    target = FuzzTarget(workdir, TERMINAL)
    await asyncio.to_thread(target.prepare)
    await target.start()
    try:
        driver = FuzzDriver("127.0.0.1", target.port, connections=CONNECTIONS)
        rows_before, bytes_before = target.rows(), target.ledger_bytes()
        half = FRAMES // 2
        first = await driver.run(plan.mutants(half))
        rows_middle = target.rows()
        second = await driver.run(plan.mutants(FRAMES - half, start=half))
        rows_after = target.rows()
        alive = target.alive
        day, day_error = None, ""
        try:
            day = await correct_day(target.port, TERMINAL, KEYS["pan"], KEYS["pin"])
        except Exception as exc:  # the evidence, whatever it is
            day_error = f"{type(exc).__name__}: {exc}"
        # scanned while the host runs, so the WAL is there as it is in production
        log_leaks = scan_files([target.log_path], corpus.pans)
        ledger_leaks = scan_files(target.ledger_files, corpus.pans, delimited=True)
        ledger_leaks += scan_cells(target.cells(), corpus.pans)
        bytes_after = target.ledger_bytes()
    finally:
        exit_code = target.process.returncode
        await target.stop()
    return Storm(
        first, second, rows_before, rows_middle, rows_after, bytes_before, bytes_after,
        alive, exit_code, day, day_error, log_leaks, ledger_leaks, target.log_tail(),
        target.log_errors(),
    )  # fmt: skip


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> Storm:
    result = asyncio.run(_storm(tmp_path_factory.mktemp("storm")))
    print(f"\nseed {SEED}, {CONNECTIONS} connections")
    for name, tally in (("first half", result.first), ("second half", result.second)):
        print(f"{name}: {tally.summary()}")
    print(f"rows added, first half: {_growth(result.rows_before, result.rows_middle)}")
    print(f"rows added, second half: {_growth(result.rows_middle, result.rows_after)}")
    print(f"ledger bytes: {result.ledger_bytes_before} -> {result.ledger_bytes_after}")
    print(f"after the storm: {result.day or result.day_error}")
    print(f"card numbers in clear: log {len(result.log_leaks)}, ledger {len(result.ledger_leaks)}")
    return result


def _report(leaks: list[Leak]) -> str:
    by_kind: dict[tuple[str, str, str], list[Leak]] = {}
    for leak in leaks:
        by_kind.setdefault((leak.where.split(" ")[0], leak.kind, leak.field), []).append(leak)
    lines = [f"{len(leaks)} card number(s) in clear (masked here):"]
    for (where, kind, field), found in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"  {len(found):>5} × {kind} in field {field} of {where}, e.g. {found[0]}")
    return "\n".join(lines)


def test_the_host_survives_the_storm_and_answers_or_closes_every_frame(storm: Storm) -> None:
    tail = masked_text(storm.log_tail)
    assert storm.alive_after_storm, f"host exited ({storm.exit_code}):\n{tail}"
    assert storm.exit_code is None
    # a request the host failed on logs at error level ("request failed", answered 96)
    assert not storm.log_errors, masked_text("\n".join(storm.log_errors[:5]))
    for tally in (storm.first, storm.second):
        assert tally.timeouts == 0, f"frames never answered: {tally.samples.get('timeout')}"
        assert tally.unreadable == 0, f"unreadable replies: {tally.samples.get('unreadable reply')}"
    assert storm.first.frames + storm.second.frames == FRAMES
    # the storm reached the decoder and the handlers, not only the framing
    replies = storm.first.replies + storm.second.replies
    assert replies["30"] > FRAMES // 10 and replies["00"] > 0


def test_a_correct_sign_on_sale_and_settlement_succeed_after_the_storm(storm: Storm) -> None:
    assert storm.day is not None, storm.day_error
    assert storm.day.ok, storm.day


def test_no_card_number_is_in_clear_in_the_host_log(storm: Storm) -> None:
    if storm.log_leaks:
        pytest.fail(_report(storm.log_leaks))


def test_no_card_number_is_in_clear_in_the_ledger_or_its_wal(storm: Storm) -> None:
    if storm.ledger_leaks:
        pytest.fail(_report(storm.ledger_leaks))


def test_bad_frames_do_not_make_the_ledger_grow(storm: Storm) -> None:
    added = _growth(storm.rows_middle, storm.rows_after)
    accepted = storm.second.replies["00"]
    bound = ROW_SLACK + ROWS_PER_ACCEPTED * accepted
    bad = storm.second.frames - accepted
    assert sum(added.values()) <= bound, (
        f"the second {storm.second.frames} frames ({bad} of them bad) added "
        f"{sum(added.values())} rows {added}; at most {bound} allowed "
        f"({ROW_SLACK} + {ROWS_PER_ACCEPTED} per accepted frame, {accepted} accepted)"
    )

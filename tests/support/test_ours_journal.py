"""Our own terminal's journal answers the support desk's questions, through the doctor.

A real terminal trades and settles against a real host; the printer runs out of paper during
the settlement (the money went through, the slip did not print). The desk then reads the
terminal's directory: the doctor's signals with its evidence, and the answers the journal has.
"""

from __future__ import annotations

import json
from pathlib import Path

from possettle.clock import SystemClock
from possettle.doctor.likelihoods import FACTORS
from possettle.support.case import Case
from possettle.support.ours import facts
from possettle.terminal.printer.simulated import PrinterState, set_state
from tests.doctor.harness import make_terminal, settle, trade
from tests.host.harness import MID, TID, register, running_host
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN


async def _paper_out_after_settling(tmp_path: Path, url: str) -> Path:
    key_file = tmp_path / "host.key"
    await register(url, key_file)
    async with running_host(url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        set_state(term, PrinterState.PAPER_OUT)
        result = await settle(term)
    assert result["ok"] is True and result["printed"] is False
    return term


async def test_the_journal_answers_and_the_doctors_signals_come_with_their_evidence(
    tmp_path: Path, sqlite_url: str
) -> None:
    term = await _paper_out_after_settling(tmp_path, sqlite_url)
    found = facts(Case(terminal_dir=term), clock=SystemClock())
    assert found is not None
    assert dict(found.answers) == {
        "acquirer": "possettle",
        "model": "possettle",
        "paper": "empty",  # the printer says so now
        "slip_printed": "no",  # the slip waits in the print queue
        "power_cut": "no",
        "signed_on": "yes",
        "reversal": "no",
        "last_settled": "recent",
        "sale_works": "yes",
    }
    # the doctor's signals, as the doctor names them, each with the doctor's evidence
    assert {"printer.paper_out", "print.failed.paper_out"} <= set(found.signals)
    assert all(key in FACTORS for key in found.signals)
    printer = found.signals["printer.paper_out"][0]
    assert printer.key == "probe.printer.state" and printer.en and printer.zh
    package = found.escalation
    assert (package["tid"], package["mid"]) == (TID, MID)
    assert package["slips_waiting"] >= 1 and package["failed_batch"] == 1
    assert len(package["last_stan"]) == 6 and package["last_rrn"]
    text = json.dumps([dict(found.answers), dict(package), repr(found.signals)])
    for pan in (CUP_PAN, CUP_PAN_2, VISA_PAN):
        assert pan not in text  # card data never leaves


async def test_with_the_ledger_too_the_journal_wins_and_the_ledger_adds_the_merchant(
    tmp_path: Path, sqlite_url: str
) -> None:
    term = await _paper_out_after_settling(tmp_path, sqlite_url)
    found = facts(Case(terminal_dir=term, host_db=sqlite_url), clock=SystemClock())
    assert found is not None
    assert found.answers["slip_printed"] == "no"  # the journal's, the ledger has no slip
    assert found.answers["others_work"] == "none"  # the ledger's: no other terminal
    assert found.answers["sale_works"] == "yes"
    assert found.escalation["merchant"] == "Test shop"  # the ledger's name for the shop
    assert len(found.notes) == 2


async def test_a_terminal_the_host_does_not_know_is_the_doctors_code_97(
    tmp_path: Path, sqlite_url: str
) -> None:
    term = await _paper_out_after_settling(tmp_path, sqlite_url)
    other = tmp_path / "other.db"
    other_url = f"sqlite:///{other}"
    from possettle.ledger.migrate import init_db

    init_db(other_url)  # a ledger where this terminal was never registered
    found = facts(Case(terminal_dir=term, host_db=other_url), clock=SystemClock())
    assert found is not None
    assert "code.97" in found.signals  # terminal.unregistered, as the doctor says it


async def test_a_reversal_the_terminal_gave_up_and_a_power_cut_answer_for_the_merchant(
    tmp_path: Path, sqlite_url: str
) -> None:
    from possettle.sim.proxy import Direction, Faults
    from tests.doctor.harness import open_pos
    from tests.doctor.scenes import FAST, journal_meta, relay, set_timeout

    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host, relay(host.port) as proxy:
        term = make_terminal(tmp_path / "t", proxy.port, reversal_attempts=3)
        await trade(term, sales=2)
        proxy.faults = Faults(drop=1.0, direction=Direction.DOWN)  # replies are lost
        set_timeout(term, FAST)
        pos = open_pos(term)
        try:
            sale = await pos.sale(CUP_PAN, 700, expiry="3012", allow_offline=False)
        finally:
            await pos.close()
        for _ in range(3):
            assert (await settle(term))["ok"] is False
    journal_meta(term, "open", "1")  # the last process never closed the journal: power lost
    found = facts(Case(terminal_dir=term), clock=SystemClock())
    assert found is not None
    assert found.answers["reversal"] == "failed"
    assert found.answers["power_cut"] == "yes"
    assert found.answers["slip_printed"] == "no"
    assert {"reversal.stuck", "power.unclean"} <= set(found.signals)
    owed = found.escalation["pending_reversals"]
    assert owed == [{"batch": 1, "stan": f"{sale.stan:06d}", "attempts": 3}]
    assert found.escalation["failed_step"] == "reversal"

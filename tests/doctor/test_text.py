"""The text report says what the merchant can act on, and agrees with ``--json``: what waits
for the host, the batch that failed, how likely a cause is and where the trouble is in words,
what is known of the network, and — after ``--fix`` — the evidence once and only what is left
to do. Each scene is the real thing (a host, a terminal, its journal, the CLI)."""

from __future__ import annotations

import re
from pathlib import Path

from possettle.doctor.catalog import BY_ID
from possettle.doctor.model import Check, Diagnosis, Evidence, Report, Status
from possettle.doctor.plain import PLACE, Place, likelihood
from possettle.doctor.render import render
from possettle.doctor.wording import say
from possettle.sim.proxy import Faults
from possettle.terminal.printer.simulated import PrinterState, set_state
from tests.doctor.harness import make_terminal, open_pos, settle, trade
from tests.doctor.scenes import corrupt, doctor_cli, free_port, host_at, relay
from tests.host.harness import TID, register, running_host
from tests.terminal.harness import CUP_PAN_2

CJK = re.compile(r"[\u3400-\u9fff]")


def line_of(text: str, area: str) -> str:
    [line] = [x for x in text.splitlines() if re.match(rf"\[.\] {area}\b", x)]
    return line


async def test_an_offline_sale_waiting_for_upload_is_said_in_the_text_as_in_the_json(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host, relay(host.port) as proxy:
        term = make_terminal(tmp_path / "t", proxy.port)
        await trade(term, sales=2)
        pos = open_pos(term)
        try:
            proxy.faults = Faults(refuse=True)  # the host is away for a moment
            await pos.terminal.drop_link()
            assert (await pos.sale(CUP_PAN_2, 800, expiry="3012")).offline
            proxy.faults = Faults()
        finally:
            await pos.close()
        data = (await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--json")).json()
        en = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--lang", "en")
        zh = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--lang", "zh")
    assert (data["pending_reversals"], data["offline_items"]) == (0, 1)
    assert "no pending reversals" not in en.stdout  # the old line said only that
    assert "Waiting for the host: 0 reversal(s) to send, 1 offline sale(s) to upload." in en.stdout
    assert "待发往主机：待冲正 0 笔，离线交易待上送 1 笔。" in zh.stdout
    assert "无待冲正" not in zh.stdout


async def test_the_header_names_the_batch_that_failed_and_the_one_open_now(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        set_state(term, PrinterState.PAPER_OUT)
        assert (await settle(term))["printed"] is False  # batch 1 closed at the host
        en = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--lang", "en")
        zh = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--lang", "zh")
        data = (await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--json")).json()
    assert (data["batch"], data["failed_batch"]) == (2, 1)
    assert en.stdout.splitlines()[0] == (
        f"Doctor summary for terminal {TID}: batch 000001 did not finish settling;"
        " batch 000002 is open now"
    )
    assert zh.stdout.splitlines()[0] == (
        f"终端 {TID} 诊断：批次 000001 结算未完成；当前打开批次 000002"
    )


async def test_after_a_fix_the_evidence_shows_once_and_only_what_is_left_is_advised(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        set_state(term, PrinterState.PAPER_OUT)
        await settle(term)
        set_state(term, PrinterState.OK)  # the merchant loaded paper
        fixed = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--fix")
    assert fixed.code == 0, fixed.stdout
    text = fixed.stdout
    paper_out = BY_ID["printer.paper_out"]
    # the reprint is what the fix did: it is not advised any more, in either language
    assert paper_out.remedy.en not in text and paper_out.remedy.zh not in text
    assert "reprint" not in text.lower()
    assert (
        "↻ the doctor tried / 诊断程序已尝试: print the queued slips / 打印待打印的单据"
        " → done / 成功" in text
    )
    assert "✓ nothing left to do for this: the fix did it" in text
    printed = say("evidence.print_failed", code="paper_out", what=say("printer.paper_out"))
    assert text.count(printed.en) == 1
    # what was found, then the areas as they are after the fix (the printer prints again)
    lines = text.splitlines()
    found = lines.index("Found before the fix / 修复前发现的问题")
    after = lines.index("After the fix / 修复后")
    assert found < after
    assert (
        line_of(text, "printer").startswith("[✓] printer")
        and lines.index(line_of(text, "printer")) > after
    )
    assert lines[0].startswith(f"Doctor summary for terminal {TID}: batch 000001 did not")


def _shared_evidence_report(*, fixed: bool) -> Report:
    ev = Evidence.of("journal", "pending_reversal", {"stan": 7, "attempts": 3},
                     say("evidence.reversal_pending", stan=7, attempts=3))  # fmt: skip
    net = Diagnosis(BY_ID["network.unstable"], 0.62, "reversal", [ev])
    stuck = Diagnosis(BY_ID["reversal.stuck"], 0.31, "reversal", [ev])
    ok = {"action": "send_reversals", "result": "ok", "detail": "pending reversals delivered"}
    if fixed:
        net.recovery = stuck.recovery = ok
    check = Check("batch", Status.OK, "in step with the host", "与主机一致")
    report = Report(TID, 1, [check], [net, stuck], False, 0, 0)
    report.failed_batch, report.fixed = 1, fixed
    return report


def test_evidence_two_causes_share_is_shown_once() -> None:
    for fixed in (False, True):
        text = render(_shared_evidence_report(fixed=fixed), "en")
        assert text.count("Reversal of STAN 000007 pending after 3 attempts.") == 1, text


def test_a_cause_is_said_as_how_likely_and_where_in_words_and_scores_are_the_operator_view() -> (
    None
):
    report = _shared_evidence_report(fixed=False)
    en = render(report, "en")
    assert "%" not in en and "(software" not in en and "network.unstable" not in en
    assert "1. most likely — the shop's network (cable, router, Wi-Fi or SIM)" in en
    assert "2. possible — the day's transactions" in en
    zh = render(report, "zh")
    assert "1. 最可能 — 店内网络" in zh and "2. 可能 — " in zh
    assert "%" not in zh and "软件" not in zh
    verbose = render(report, "en", verbose=True)
    assert "cause network.unstable (software), step reversal, score 62%" in verbose
    assert "detail:" not in verbose  # nothing was recovered
    fixed = render(_shared_evidence_report(fixed=True), "en", verbose=True)
    assert "detail: pending reversals delivered" in fixed


def test_every_cause_has_a_place_and_the_bands_follow_the_score() -> None:
    assert set(PLACE) == set(BY_ID)
    assert PLACE["external.undetected"] is Place.UNKNOWN
    assert [likelihood(1, s) for s in (0.99, 0.5, 0.49, 0.2, 0.19)] == [
        "most_likely", "most_likely", "possible", "possible", "less_likely",
    ]  # fmt: skip
    assert likelihood(2, 0.9) == "also_likely"


async def test_the_network_line_says_what_is_known_next_to_a_refusing_host(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    port = free_port()
    async with host_at(sqlite_url, key_file, port):
        term = make_terminal(tmp_path / "t", port)
        await trade(term)
    assert (await settle(term))["ok"] is False  # the host is down: connections refused

    probed = await doctor_cli("--dir", str(term), "--lang", "en")
    assert line_of(probed.stdout, "network") == (
        "[✓] network: up: the host's side answered the connection and refused it"
        " (the trouble is past the shop's network)"
    )
    assert line_of(probed.stdout, "host").startswith("[✗] host")
    assert "1. most likely — the acquirer" in probed.stdout

    unprobed = await doctor_cli("--dir", str(term), "--lang", "en", "--no-probe")
    assert line_of(unprobed.stdout, "network") == (
        "[✓] network: up at the settlement: the host's side refused its connection"
        " (not checked now: --no-probe was given)"
    )


async def test_the_network_line_says_why_it_was_not_checked(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term, sales=1)
        zh = await doctor_cli("--dir", str(term), "--lang", "zh", "--no-probe")
    assert line_of(zh.stdout, "网络") == "[?] 网络: 未检查：指定了 --no-probe"


async def test_a_corrupt_journal_is_advised_the_export_command(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
    corrupt(term)
    en = await doctor_cli("--dir", str(term), "--lang", "en", "--no-probe")
    zh = await doctor_cli("--dir", str(term), "--lang", "zh", "--no-probe")
    command = "possettle terminal export --dir DIR --out FILE"
    assert "storage" in en.stdout and "Export the journal and" not in en.stdout
    assert f"Export what can still be read ({command}; card data stays masked)" in en.stdout
    assert command in zh.stdout and not CJK.search(command)
    assert "Waiting for the host: unknown, the journal cannot be read." in en.stdout


def test_what_was_ruled_out_is_said_as_places_wholly_cleared() -> None:
    cleared = ["link.down", "printer.paper_out", "printer.fault", "terminal.unregistered"]
    d = Diagnosis(BY_ID["external.undetected"], 0.7, "settle", [], ruled_out=cleared)
    report = Report(TID, 1, [], [d], True, 0, 0)
    en = render(report, "en")
    # both printer causes are ruled out: the printer is; one of the acquirer's causes is not
    # the acquirer, nor one of the shop network's the network
    assert "   ruled out: the printer\n" in en
    assert "printer.paper_out" not in en
    verbose = render(report, "en", verbose=True)
    assert f"ruled out: {', '.join(cleared)}" in verbose


def test_a_step_an_older_journal_recorded_is_shown_as_recorded() -> None:
    d = Diagnosis(BY_ID["software.crash"], 0.8, "sending_totals", [])
    text = render(Report(TID, 1, [], [d], True, 0, 0), "en")
    assert "1. most likely — the POS software (while sending_totals)" in text

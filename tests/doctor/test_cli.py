"""``possettle doctor`` as a merchant or support runs it: JSON shape, both languages, the
exit status, ``--fix``, and the host's side (``--host-db --tid``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from possettle.clock import FixedClock
from possettle.doctor.catalog import BY_ID
from possettle.terminal.informer import Informer
from possettle.terminal.keepalive import Duty
from possettle.terminal.pos import Pos
from possettle.terminal.printer.simulated import PrinterState, set_state
from tests.doctor.harness import make_terminal, settle, trade
from tests.doctor.scenes import (
    SLOW_HOST,
    doctor_cli,
    free_port,
    freeze_settlement_at_the_acquirer,
    host_at,
)
from tests.host.harness import TID, register, running_host

DIAGNOSIS_KEYS = {"cause", "group", "step", "score", "evidence", "ruled_out", "recovery",
                  "what", "remedy"}  # fmt: skip
EVIDENCE_KEYS = {"source", "key", "value", "en", "zh"}


def check_shape(data: dict[str, Any]) -> None:
    assert set(data) == {"ok", "terminal", "batch", "checks", "diagnoses", "pending_reversals",
                         "offline_items", "failed_batch"}  # fmt: skip
    assert data["failed_batch"] is None or isinstance(data["failed_batch"], int)
    assert isinstance(data["ok"], bool)
    for count in ("pending_reversals", "offline_items"):
        assert data[count] is None or (isinstance(data[count], int) and data[count] >= 0)
    for c in data["checks"]:
        assert set(c) == {"area", "status", "en", "zh", "evidence"}
        assert c["status"] in ("ok", "warn", "fail", "unknown")
    scores = [d["score"] for d in data["diagnoses"]]
    assert scores == sorted(scores, reverse=True)
    for d in data["diagnoses"]:
        assert set(d) == DIAGNOSIS_KEYS
        assert d["group"] == BY_ID[d["cause"]].group.value
        assert 0.0 <= d["score"] <= 1.0
        assert set(d["remedy"]) == {"en", "zh"} and d["remedy"]["en"] and d["remedy"]["zh"]
        assert all(set(e) == EVIDENCE_KEYS for e in d["evidence"])
        assert isinstance(d["ruled_out"], list)
        assert d["recovery"] is None or set(d["recovery"]) == {"action", "result", "detail"}


async def test_paper_out_in_json_then_fixed_then_seen_from_the_host(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        set_state(term, PrinterState.PAPER_OUT)
        assert (await settle(term))["printed"] is False

        run = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--json")
        assert run.code == 1, run.stderr
        data = run.json()
        check_shape(data)
        assert data["ok"] is False and data["terminal"] == TID and data["batch"] == 2
        top = data["diagnoses"][0]
        assert (top["cause"], top["group"], top["step"]) == (
            "printer.paper_out",
            "hardware",
            "print",
        )
        assert {"source": "probe", "key": "printer.state", "value": "paper_out"}.items() <= (
            top["evidence"][0].items()
        )
        assert top["recovery"] is None  # not asked to fix

        # The host's side reads the report the terminal's doctor sent it (0820/362).
        run = await doctor_cli("--host-db", sqlite_url, "--tid", TID, "--json")
        data = run.json()
        check_shape(data)
        assert data["diagnoses"][0]["cause"] == "printer.paper_out"
        assert data["diagnoses"][0]["evidence"][0]["key"] == "terminal_report"

        # The terminal keeps that verdict: its next scheduled report (its own figures, fresh)
        # still names the cause, so the host's stored report does not lose it.
        clock = FixedClock(datetime.now(UTC))
        pos = Pos.open(term, clock=clock)
        try:
            informer = Informer(pos.terminal)
            clock.advance(pos.config.status_report_s)
            sent = await informer.step()
            assert sent is not None and sent.duty is Duty.STATUS_REPORT and sent.code == "00"
        finally:
            await pos.close()
        run = await doctor_cli("--host-db", sqlite_url, "--tid", TID, "--json")
        assert run.json()["diagnoses"][0]["cause"] == "printer.paper_out"

        set_state(term, PrinterState.OK)
        run = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--fix", "--json")
        data = run.json()
        check_shape(data)
        assert data["diagnoses"][0]["recovery"] == {
            "action": "queue_reprint", "result": "ok", "detail": "queued slips printed",
        }  # fmt: skip

        run = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--json")
    assert run.code == 0, run.stdout
    assert run.json()["ok"] is True and run.json()["diagnoses"] == []


async def test_the_text_names_cause_evidence_and_remedy_in_each_language(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    port = free_port()
    async with host_at(sqlite_url, key_file, port):
        term = make_terminal(tmp_path / "t", port)
        await trade(term)
        set_state(term, PrinterState.OFFLINE)
    assert (await settle(term))["ok"] is False  # the host is down now

    en = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--lang", "en")
    zh = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--lang", "zh")
    both = await doctor_cli("--dir", str(term), "--host-db", sqlite_url)
    operator = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--verbose")
    assert en.code == zh.code == both.code == operator.code == 1
    unreachable, printer = BY_ID["host.unreachable"], BY_ID["printer.fault"]

    first = en.stdout.splitlines()[0]
    assert first == f"Doctor summary for terminal {TID}: batch 000001 did not finish settling"
    assert (
        "1. most likely — the acquirer (the bank or payment company that runs your POS)"
        " (while settling)" in en.stdout
    )
    assert "host.unreachable" not in en.stdout and "%" not in en.stdout
    assert "cause host.unreachable (software), step settle, score " in operator.stdout
    assert "Connecting to the host now is refused" in en.stdout
    assert unreachable.remedy.en in en.stdout and printer.remedy.en in en.stdout
    assert "[✗] host: " in en.stdout and "[✗] printer: " in en.stdout
    assert "• Issues remain." in en.stdout
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in en.stdout)  # no Chinese at all

    assert zh.stdout.splitlines()[0] == f"终端 {TID} 诊断：批次 000001 结算未完成"
    assert "1. 最可能 — 收单机构（为您提供 POS 的银行或支付公司） （在结算时）" in zh.stdout
    assert "原因 host.unreachable（软件），步骤 settle，得分 " in operator.stdout
    assert "现在连接主机被拒绝：" in zh.stdout  # then the error, as in English
    assert unreachable.remedy.zh in zh.stdout and printer.remedy.zh in zh.stdout
    assert "仍有未解决的问题" in zh.stdout
    assert unreachable.remedy.en not in zh.stdout

    for text in (unreachable.remedy.en, unreachable.remedy.zh, printer.what.en, printer.what.zh):
        assert text in both.stdout


async def test_an_unexplained_failure_says_unknown_and_what_was_ruled_out(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        # The host renders the failed write's traceback before it answers (2-3 s on a busy
        # machine): the terminal waits long enough to hear the 96.
        term = make_terminal(tmp_path / "t", host.port, timeout=SLOW_HOST)
        await trade(term)
        freeze_settlement_at_the_acquirer(sqlite_url, TID)
        assert (await settle(term))["failure"]["code"] == "96"  # type: ignore[index]

        run = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--json")
        text = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--no-probe")
    assert run.code == 1
    data = run.json()
    check_shape(data)
    [top] = data["diagnoses"]
    assert (top["cause"], top["group"], top["step"]) == (
        "external.undetected",
        "external",
        "settle",
    )
    assert {"link.down", "printer.paper_out", "terminal.unregistered"} <= set(top["ruled_out"])
    assert data["ok"] is False  # unknown, never "healthy"
    assert (
        "nothing the POS can see: ask the acquirer / POS 上看不出原因：请询问收单机构"
        in text.stdout
    )
    assert "ruled out / 已排除: " in text.stdout
    undetected = BY_ID["external.undetected"]
    assert undetected.remedy.en in text.stdout and undetected.remedy.zh in text.stdout

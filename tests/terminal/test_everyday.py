"""Everyday terminal operations through the CLI: list (查询流水), reprint, report, status.

One shop's day against a real host: three sales (one voided), a refund, a settlement, then a
sale in the next batch; the commands are run on that terminal as the merchant would.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from possettle.cli.main import app
from possettle.terminal.transactions import TxnResult
from tests.host.harness import register, running_host
from tests.terminal.harness import CUP_PAN, VISA_PAN, make_terminal, open_pos
from tests.terminal.test_cli import refusal_events

CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Day:
    term: Path
    a: TxnResult  # CUP 12.34, partly refunded (2.00)
    b: TxnResult  # VISA 50.00
    c: TxnResult  # CUP 7.00, voided
    void: TxnResult
    refund: TxnResult
    d: TxnResult  # CUP 3.00, in the next batch
    days: set[str]  # the shop's date(s) while it ran: the host's clock sets the terminal's


SHOP = timezone(timedelta(hours=8))


def shop_today() -> str:
    return datetime.now(SHOP).date().isoformat()


@pytest.fixture
async def day(tmp_path: Path, sqlite_url: str) -> Day:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        days = {shop_today()}
        pos = open_pos(term)
        try:
            await pos.sign_on()
            a = await pos.sale(CUP_PAN, 1234, expiry="3012", pin="123456")
            b = await pos.sale(VISA_PAN, 5000, expiry="3012")
            c = await pos.sale(CUP_PAN, 700, expiry="3012")
            void = await pos.void(c.stan)
            refund = await pos.refund(200, orig_batch=a.batch, orig_stan=a.stan)
            assert (await pos.settle()).ok
            d = await pos.sale(CUP_PAN, 300, expiry="3012")
            assert all(t.approved for t in (a, b, c, void, refund, d))
        finally:
            await pos.close()
    days.add(shop_today())
    return Day(term, a, b, c, void, refund, d, days)


async def run(term: Path, *args: str) -> Result:
    """``possettle terminal ARGS --dir TERM`` in-process (its own event loop, in a thread)."""
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, app, ["terminal", *args, "--dir", str(term)], catch_exceptions=False
    )


async def run_json(term: Path, *args: str) -> Any:
    result = await run(term, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def vouchers(data: dict[str, Any]) -> list[int]:
    return [t["voucher"] for t in data["transactions"]]


# ------------------------------------------------------------------------------ list


async def test_list_shows_every_transaction_masked_with_totals_per_kind_in_fen(day: Day) -> None:
    data = await run_json(day.term, "list")
    assert vouchers(data) == [t.stan for t in (day.a, day.b, day.c, day.void, day.refund, day.d)]
    assert data["totals"] == {
        "sales": {"count": 4, "amount": 1234 + 5000 + 700 + 300},
        "voids": {"count": 1, "amount": 700},
        "refunds": {"count": 1, "amount": 200},
        "offline": {"count": 0, "amount": 0},
        "not_approved": {"count": 0, "amount": 0},
        "net": 1234 + 5000 + 700 + 300 - 700 - 200,
    }
    first = data["transactions"][0]
    assert first["card"] == "622202*********0128"
    assert first["amount"] == 1234
    assert first["local_time"][:10] in day.days  # the shop's date (+08:00)
    assert data["transactions"][2]["voided"] is True
    assert CUP_PAN not in json.dumps(data) and VISA_PAN not in json.dumps(data)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("--last4", "1111"), lambda d: [d.b.stan]),
        (("--stan", "{a}"), lambda d: [d.a.stan]),
        (("--rrn", "{rrn_b}"), lambda d: [d.b.stan]),
        (("--batch", "{batch_d}"), lambda d: [d.d.stan]),
        (("--date", "{day_a}", "--last4", "0128", "--batch", "{batch_a}"),
         lambda d: [d.a.stan, d.c.stan, d.void.stan, d.refund.stan]),
        (("--date", "{day_after}"), lambda d: []),
    ],
)  # fmt: skip
async def test_list_filters_by_voucher_rrn_last_four_date_and_batch(
    day: Day, flags: tuple[str, ...], expected: Any
) -> None:
    [listed_a] = (await run_json(day.term, "list", "--stan", str(day.a.stan)))["transactions"]
    day_a = date.fromisoformat(listed_a["local_time"][:10])
    values = {
        "a": day.a.stan,
        "rrn_b": day.b.rrn,
        "batch_d": day.d.batch,
        "batch_a": day.a.batch,
        "day_a": day_a.isoformat(),
        "day_after": (day_a + timedelta(days=1)).isoformat(),
    }
    data = await run_json(day.term, "list", *(f.format(**values) for f in flags))
    assert vouchers(data) == expected(day)


async def test_list_on_screen_shows_yuan_masked_cards_and_bilingual_totals(day: Day) -> None:
    result = await run(day.term, "list", "--last4", "1111")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "CNY 50.00" in text
    assert "*1111" in text and "*0128" not in text
    assert VISA_PAN not in text
    assert f"batch {day.b.batch:06d} / 批次 {day.b.batch:06d}" in text
    assert re.search(r"sales 消费 +1 +CNY 50\.00", text)
    assert re.search(r"net 净额 +1 +CNY 50\.00", text)
    assert "5000" not in text  # no amount in fen on screen
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize(
    ("flags", "code"),
    [
        (("--last4", "12a4"), "input.last4"),
        (("--last4", CUP_PAN), "input.last4"),
        (("--date", "26/11/2026"), "input.date"),
        (("--stan", "0"), "input.stan"),
    ],
)
async def test_list_refuses_a_bad_filter_in_both_languages_without_echoing_a_card(
    day: Day, flags: tuple[str, ...], code: str
) -> None:
    result = await run(day.term, "list", *flags, "--json")
    assert result.exit_code == 1
    refused = json.loads(result.stdout)["refused"]
    assert refused["code"] == code
    assert CJK.search(refused["zh"]) and not CJK.search(refused["en"])
    assert CUP_PAN not in result.stdout
    text = await run(day.term, "list", *flags)
    assert text.exit_code == 1
    assert flags[0] in text.output and "拒绝" in text.output


# --------------------------------------------------------------------------- reprint


def paper(term: Path) -> str:
    return (term / "printer.txt").read_text(encoding="utf-8")


def blocks(term: Path) -> list[str]:
    """What the simulated printer printed, one document each (titles start them)."""
    return re.split(r"(?m)^(?=\s*(?:SALE|VOID|REFUND|OFFLINE SALE|SETTLEMENT) )", paper(term))


async def test_reprint_by_voucher_prints_that_receipt_again_marked_reprint(day: Day) -> None:
    before = paper(day.term)
    data = await run_json(day.term, "reprint", "--voucher", str(day.b.stan))
    assert data == {"ok": True, "waiting": 0}
    copy = paper(day.term)[len(before) :]
    assert "REPRINT 重打印" in copy
    assert f"{day.b.stan:06d}" in copy and "CNY 50.00" in copy
    assert "1111" in copy and VISA_PAN not in copy


async def test_reprint_of_the_last_settlement_slip_is_marked_reprint(day: Day) -> None:
    before = paper(day.term)
    data = await run_json(day.term, "reprint", "--settlement")
    assert data == {"ok": True, "waiting": 0}
    copy = paper(day.term)[len(before) :]
    assert "SETTLEMENT 结算单" in copy and "REPRINT 重打印" in copy
    assert f"{day.a.batch:06d}" in copy and "CNY 12.34" in copy


async def test_reprint_of_an_unknown_voucher_says_so_in_both_languages(day: Day) -> None:
    result = await run(day.term, "reprint", "--voucher", "999", "--json")
    assert result.exit_code == 1
    refused = json.loads(result.stdout)["refused"]
    assert refused["code"] == "reprint.no_receipt"
    assert "000999" in refused["en"] and "000999" in refused["zh"]
    assert ("reprint.no_receipt", "reprint") in refusal_events(day.term)


async def test_reprint_without_options_still_prints_the_queue(day: Day) -> None:
    assert await run_json(day.term, "reprint") == {"ok": True, "waiting": 0}


# ---------------------------------------------------------------------------- report


async def test_report_shows_the_last_settled_batch_per_half_and_per_kind(day: Day) -> None:
    data = await run_json(day.term, "report")
    assert data["batch"] == day.a.batch
    assert data["result"] == "balanced"
    assert data["domestic"] == {
        "debit_count": 1,
        "debit_amount": 1234,
        "credit_count": 1,
        "credit_amount": 200,
        "result": "balanced",
    }
    assert data["foreign"] == {
        "debit_count": 1,
        "debit_amount": 5000,
        "credit_count": 0,
        "credit_amount": 0,
        "result": "balanced",
    }
    assert data["kinds"]["voids"] == {"count": 1, "amount": 700}
    assert await run_json(day.term, "report", "--batch", str(day.a.batch)) == data

    text = (await run(day.term, "report")).stdout
    assert "结算总计单" in text and "Settlement report" in text
    assert "Domestic cards: debit 1 for CNY 12.34, credit 1 for CNY 2.00: balanced" in text
    assert "内卡：借记 1 笔 CNY 12.34，贷记 1 笔 CNY 2.00：对账平" in text
    assert "Result: balanced" in text


async def test_report_of_a_batch_not_settled_is_refused_with_its_number(day: Day) -> None:
    result = await run(day.term, "report", "--batch", str(day.d.batch), "--json")
    assert result.exit_code == 1
    refused = json.loads(result.stdout)["refused"]
    assert refused["code"] == "report.not_settled"
    assert f"{day.d.batch:06d}" in refused["zh"]


# ---------------------------------------------------------------------------- status


async def test_status_speaks_in_words_and_yuan_and_json_keeps_the_figures(day: Day) -> None:
    result = await run(day.term, "status")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert f"Batch {day.d.batch:06d} open: 1 transactions; debit 1 for CNY 3.00" in text
    assert f"当前批次 {day.d.batch:06d}：共 1 笔交易；借记 1 笔 CNY 3.00" in text
    assert "Signed on since 2026-11-26 10:00 +0800" in text
    assert "Reversals waiting: none" in text and "待冲正：无" in text
    assert "Printer: nothing waiting to print" in text
    assert f"Last settlement: batch {day.a.batch:06d}, balanced" in text
    assert "software 1.0.0" in text
    for raw in ("{", "'debit_amount'", "300", "True", "None"):
        assert raw not in text, raw
    data = await run_json(day.term, "status")
    assert data["totals"]["domestic"]["debit_amount"] == 300
    assert data["batch"] == day.d.batch


async def test_status_names_what_keeps_the_printer_from_printing(day: Day) -> None:
    assert (await run(day.term, "printer", "--state", "paper_out")).exit_code == 0
    assert (await run(day.term, "reprint", "--voucher", str(day.a.stan))).exit_code == 1
    text = (await run(day.term, "status")).stdout
    assert "Printer: 1 slips waiting (last try: out of paper)" in text
    assert "打印机：1 张单据待打印（上次失败原因：缺纸）" in text

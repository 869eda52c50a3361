"""The settlement report (结算总计单): what a settled batch came to, on screen.

The figures are the journal's own (full counts, amounts in fen: field 48 carries counts mod
1000), each half with the result the host gave it, the batch's transactions per kind, and how
the settlement ended (balanced, or unbalanced with the detail uploaded, or already settled by
the host). :func:`settlement_report` gives it as data (``terminal report --json``),
:func:`report_lines` as bilingual lines in yuan.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any

from possettle.iso8583.fields import HalfTotals, SettleResult
from possettle.terminal.errors import Refused
from possettle.terminal.history import Totals
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.records import SettlementRow, SettleStep
from possettle.terminal.operations.settlement import readable, totals
from possettle.terminal.status_words import yuan

_HALF = {
    SettleResult.REQUEST: ("not checked by the host", "主机未核对"),
    SettleResult.BALANCED: ("balanced", "对账平"),
    SettleResult.UNBALANCED: ("unbalanced", "对账不平"),
    SettleResult.ERROR: ("error at the host", "主机对账出错"),
}
_OUTCOME = {
    "balanced": ("balanced", "对账平"),
    "balanced_after_upload": ("unbalanced, batch detail uploaded", "对账不平，已上送批明细"),
    "already_settled": ("already settled by the host", "主机已结算该批次"),
}


def _settled(conn: sqlite3.Connection, batch: int | None) -> SettlementRow:
    if batch is None:
        r = conn.execute(
            "SELECT batch FROM settlements WHERE step = 'done' ORDER BY finished_at DESC, "
            "batch DESC LIMIT 1"
        ).fetchone()
        row = None if r is None else q.get_settlement(conn, int(r[0]))
        if row is None:
            raise Refused(
                "report.none_settled",
                "No settled batch yet: the report shows a batch once it is settled "
                "(`possettle terminal settle`)",
                "尚无已结算的批次：结算后才有结算总计单",
            )
        return row
    row = q.get_settlement(conn, batch)
    if row is None or row.step is not SettleStep.DONE:
        state_en = "is not settled" if row is None else f"stopped at step {row.step.value}"
        state_zh = "尚未结算" if row is None else f"结算未完成（停在 {row.step.value} 步）"
        raise Refused(
            "report.not_settled",
            f"--batch {batch}: batch {batch:06d} {state_en}; only a settled batch has a report",
            f"--batch {batch}：批次 {batch:06d} {state_zh}，已结算的批次才有结算总计单",
            batch=batch,
        )
    return row


def _half(half: HalfTotals) -> dict[str, Any]:
    return {
        "debit_count": half.debit_count,
        "debit_amount": half.debit_amount,
        "credit_count": half.credit_count,
        "credit_amount": half.credit_amount,
        "result": half.result.name.lower(),
    }


def settlement_report(conn: sqlite3.Connection, batch: int | None = None) -> dict[str, Any]:
    """The report of ``batch`` (default: the last settled), amounts in fen."""
    row = _settled(conn, batch)
    rows = q.batch_txns(conn, row.batch)
    mine = totals(rows)
    host = readable(row.host_totals)
    domestic, foreign = mine.domestic, mine.foreign
    if host is not None:
        domestic = domestic.with_result(host.domestic.result)
        foreign = foreign.with_result(host.foreign.result)
    return {
        "batch": row.batch,
        "result": row.result,
        "uploaded": row.uploaded,
        "started_at": row.started_at,
        "settled_at": row.finished_at,
        "domestic": _half(domestic),
        "foreign": _half(foreign),
        "kinds": Totals.of(rows).as_dict(),
    }


def report_lines(data: dict[str, Any], tz: tzinfo) -> list[tuple[str, str]]:
    """The report as ``(English, Chinese)`` lines, amounts in yuan, times in ``tz``."""
    when = datetime.fromisoformat(data["settled_at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M %z")
    batch = f"{data['batch']:06d}"
    lines = [(f"Settlement report, batch {batch}, settled {when}",
              f"结算总计单  批次 {batch}  结算时间 {when}")]  # fmt: skip
    for name, (en_name, zh_name) in (("domestic", ("Domestic cards", "内卡")),
                                     ("foreign", ("Foreign cards", "外卡"))):  # fmt: skip
        h = data[name]
        en, zh = _HALF[SettleResult[h["result"].upper()]]
        lines.append(
            (
                f"{en_name}: debit {h['debit_count']} for {yuan(h['debit_amount'])}, "
                f"credit {h['credit_count']} for {yuan(h['credit_amount'])}: {en}",
                f"{zh_name}：借记 {h['debit_count']} 笔 {yuan(h['debit_amount'])}，"
                f"贷记 {h['credit_count']} 笔 {yuan(h['credit_amount'])}：{zh}",
            )
        )
    k = data["kinds"]
    lines.append(
        (
            f"Sales {k['sales']['count']} for {yuan(k['sales']['amount'])}, "
            f"voids {k['voids']['count']} for {yuan(k['voids']['amount'])}, "
            f"refunds {k['refunds']['count']} for {yuan(k['refunds']['amount'])}, "
            f"offline sales {k['offline']['count']} for {yuan(k['offline']['amount'])}; "
            f"net {yuan(k['net'])}",
            f"消费 {k['sales']['count']} 笔 {yuan(k['sales']['amount'])}，"
            f"撤销 {k['voids']['count']} 笔 {yuan(k['voids']['amount'])}，"
            f"退货 {k['refunds']['count']} 笔 {yuan(k['refunds']['amount'])}，"
            f"离线消费 {k['offline']['count']} 笔 {yuan(k['offline']['amount'])}；"
            f"净额 {yuan(k['net'])}",
        )
    )
    en, zh = _OUTCOME.get(data["result"], (data["result"], data["result"]))
    if data["result"] == "balanced_after_upload":
        en, zh = f"{en} ({data['uploaded']} records)", f"{zh}（{data['uploaded']} 笔）"
    lines.append((f"Result: {en}", f"结算结果：{zh}"))
    return lines

"""The end-of-day report as text (yuan, both languages), CSV and JSON (minor units).

>>> yuan(123456)
'1,234.56'
>>> yuan(-5)
'-0.05'
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any

from possettle.ledger.dayreport import DayReport, Failure, TerminalDay

STATUS_TEXT = {
    "settled": "settled 已结算",
    "unsettled": "NOT SETTLED 未结算",
    "idle": "no activity 无交易",
}

CSV_COLUMNS = (
    "date", "zone", "tid", "mid", "merchant", "region", "status",
    "sales_count", "sales_amount", "voids_count", "voids_amount", "refunds_count",
    "refunds_amount", "reversals_count", "reversals_amount", "net_amount", "unsettled_count",
    "settle_attempts", "batches", "results", "failures", "causes",
)  # fmt: skip


def yuan(minor: int) -> str:
    """Minor units (fen) as yuan with thousands separators, exact (no float)."""
    sign = "-" if minor < 0 else ""
    whole, fen = divmod(abs(minor), 100)
    return f"{sign}{whole:,}.{fen:02d}"


def _failure_text(f: Failure) -> str:
    count = f"≥{f.count}" if f.at_least else str(f.count)
    code = f"{f.code} " if f.code else ""
    cause = f" [{f.cause}]" if f.cause else ""
    return f"{count} × {code}{f.en} / {f.zh}{cause}"


def as_json(report: DayReport) -> dict[str, Any]:
    return {
        "date": report.day.isoformat(),
        "zone": report.zone,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "currency": "156",
        "totals": report.totals(),
        "terminals": [asdict(t) for t in report.terminals],
    }


def to_csv(report: DayReport) -> str:
    """One row per terminal; amounts in minor units; failures as ``code:count`` pairs."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in report.terminals:
        writer.writerow([
            report.day.isoformat(), report.zone, t.tid, t.mid, t.merchant, t.region or "",
            t.status, t.sales_count, t.sales_amount, t.voids_count, t.voids_amount,
            t.refunds_count, t.refunds_amount, t.reversals_count, t.reversals_amount,
            t.net_amount, t.unsettled_count, t.settle_attempts,
            ";".join(f"{s.batch:06d}" for s in t.settlements),
            ";".join(s.result for s in t.settlements),
            ";".join(f"{f.code or f.kind}:{f.count}" for f in t.failures),
            ";".join(sorted({f.cause for f in t.failures if f.cause})),
        ])  # fmt: skip
    return buf.getvalue()


def _terminal_lines(t: TerminalDay) -> list[str]:
    lines = [
        f"{t.tid}  {t.mid}  {t.merchant}" + (f"  ({t.region})" if t.region else ""),
        f"  {STATUS_TEXT[t.status]}"
        + (
            f": {t.unsettled_count} transaction(s) not settled / {t.unsettled_count} 笔未结算"
            if t.unsettled_count
            else ""
        ),
        f"  sales 消费 {t.sales_count} / {yuan(t.sales_amount)}   "
        f"voids 撤销 {t.voids_count} / {yuan(t.voids_amount)}   "
        f"refunds 退货 {t.refunds_count} / {yuan(t.refunds_amount)}   "
        f"reversals 冲正 {t.reversals_count} / {yuan(t.reversals_amount)}",
        f"  net 净额 CNY {yuan(t.net_amount)}   settlement attempts 结算次数 {t.settle_attempts}",
    ]
    for s in t.settlements:
        lines.append(
            f"  batch 批次 {s.batch:06d}: {s.result}"
            + (f", {s.uploaded_records} uploaded 已上送" if s.uploaded_records else "")
        )
    if t.failures:
        lines.append("  failures 失败:")
        lines.extend(f"    {_failure_text(f)}" for f in t.failures)
    return lines


def to_text(report: DayReport) -> str:
    totals = report.totals()
    lines = [
        f"end-of-day report 日终报表 {report.day.isoformat()} ({report.zone})",
        f"terminals 终端: {len(report.terminals)}  settled 已结算 {totals['terminals_settled']}"
        f"  not settled 未结算 {totals['terminals_unsettled']}"
        f"  no activity 无交易 {totals['terminals_idle']}",
        f"sales 消费 {totals['sales_count']} / CNY {yuan(totals['sales_amount'])}   "
        f"net 净额 CNY {yuan(totals['net_amount'])}   failures 失败 {totals['failures']}",
        "",
    ]
    for t in report.terminals:
        lines.extend(_terminal_lines(t))
        lines.append("")
    if not report.terminals:
        lines.append("no terminals registered 未登记终端")
    return "\n".join(lines).rstrip("\n") + "\n"

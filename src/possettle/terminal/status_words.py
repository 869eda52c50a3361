"""The terminal's status in words, English and Chinese, amounts in yuan.

:meth:`possettle.terminal.pos.Pos.status` gives the figures as data (fen, check values, codes:
what ``terminal status --json`` prints); :func:`status_lines` says the same to a merchant, one
``(English, Chinese)`` pair a line.

>>> version_text("010203")
'1.2.3'
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from possettle.iso8583.framing import version_text
from possettle.money import Money
from possettle.terminal.printer.layout import format_amount
from possettle.terminal.printer.status import PrinterCode

Line = tuple[str, str]

_PRINTER = {
    PrinterCode.PAPER_OUT: ("out of paper", "缺纸"),
    PrinterCode.COVER_OPEN: ("cover open", "纸仓盖未关"),
    PrinterCode.OFFLINE: ("offline or not answering", "离线或无应答"),
    PrinterCode.CUTTER_JAM: ("cutter jammed", "切刀卡住"),
    PrinterCode.OVERHEAT: ("print head too hot", "打印头过热"),
    PrinterCode.FAULT: ("fault, needs service", "故障，需维修"),
    PrinterCode.IO_ERROR: ("connection failed while printing", "打印时连接中断"),
}
_RESULT = {
    "balanced": ("balanced", "对账平"),
    "balanced_after_upload": ("unbalanced, batch detail uploaded", "对账不平，已上送明细"),
    "already_settled": ("already settled by the host", "主机已结算"),
}
_LINK = {"up": ("up", "正常"), "down": ("down", "中断"), "unknown": ("not checked yet", "未检测")}


def yuan(minor: int) -> str:
    """``CNY 1,234.56``, as receipts print amounts."""
    return format_amount(Money(minor))


def _when(iso: str | None, tz: tzinfo) -> str:
    if not iso:
        return "?"
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M %z")


def _totals(data: dict[str, Any]) -> tuple[int, int, int, int]:
    halves = data["totals"].values()
    return (
        sum(h["debit_count"] for h in halves),
        sum(h["debit_amount"] for h in halves),
        sum(h["credit_count"] for h in halves),
        sum(h["credit_amount"] for h in halves),
    )


def status_lines(data: dict[str, Any], tz: tzinfo) -> list[Line]:
    """What ``terminal status`` prints, from :meth:`Pos.status`'s data, times in ``tz``."""
    lines: list[Line] = [
        (
            f"Terminal {data['tid']}, merchant {data['mid']}, host {data['host']}, "
            f"software {version_text(data['version'])}",
            f"终端 {data['tid']}，商户 {data['mid']}，主机 {data['host']}，"
            f"软件版本 {version_text(data['version'])}",
        )
    ]
    checks = data["key_check_values"]
    if data["signed_on"]:
        since = _when(data.get("signed_on_at"), tz)
        pik, mak = checks["pik"], checks["mak"]
        lines.append(
            (
                f"Signed on since {since} (PIK check {pik}, MAK check {mak})",
                f"已签到，签到时间 {since}（PIK 校验值 {pik}，MAK 校验值 {mak}）",
            )
        )
    else:
        lines.append(
            (
                "Not signed on: the next sale or settlement signs on first",
                "未签到：下一笔交易或结算会先自动签到",
            )
        )
    if checks.get("tmk") is None:
        lines.append(("No master key (TMK) loaded", "未装载主密钥（TMK）"))
    dc, da, cc, ca = _totals(data)
    lines.append(
        (
            f"Batch {data['batch']:06d} open: {data['transactions']} transactions; "
            f"debit {dc} for {yuan(da)}, credit {cc} for {yuan(ca)}, net {yuan(da - ca)}",
            f"当前批次 {data['batch']:06d}：共 {data['transactions']} 笔交易；"
            f"借记 {dc} 笔 {yuan(da)}，贷记 {cc} 笔 {yuan(ca)}，净额 {yuan(da - ca)}",
        )
    )
    reversals = data["pending_reversals"]
    if reversals:
        vouchers = ", ".join(f"{r['stan']:06d}" for r in reversals)
        lines.append(
            (
                f"Reversals waiting: {len(reversals)} (voucher {vouchers}); "
                "sent before the next online message",
                f"待冲正：{len(reversals)} 笔（凭证号 {vouchers}），下次联机时先发送",
            )
        )
    else:
        lines.append(("Reversals waiting: none", "待冲正：无"))
    offline = data["offline_pending"]
    lines.append(
        (f"Offline sales waiting for upload: {offline}", f"离线交易待上送：{offline} 笔")
        if offline
        else ("Offline sales waiting for upload: none", "离线交易待上送：无")
    )
    lines.append(_printer_line(data))
    link_en, link_zh = _LINK.get(data["link"], (data["link"], data["link"]))
    lines.append((f"Link to the host: {link_en}", f"与主机链路：{link_zh}"))
    lines.append(_settlement_line(data.get("last_settlement")))
    if data.get("unclean_shutdown"):
        lines.append(
            (
                "The last run stopped without closing cleanly (power cut or crash): "
                "interrupted work resumes with the next online command",
                "上次运行未正常关闭（断电或程序崩溃）：下次联机时自动继续未完成的操作",
            )
        )
    return lines


def _printer_line(data: dict[str, Any]) -> Line:
    waiting = data.get("print_queue", 0)
    if not waiting:
        return ("Printer: nothing waiting to print", "打印机：无待打印单据")
    code = data.get("printer_last_error") or ""
    try:
        en, zh = _PRINTER[PrinterCode(code)]
        why_en, why_zh = f" (last try: {en})", f"（上次失败原因：{zh}）"
    except ValueError:
        why_en = why_zh = ""
    return (
        f"Printer: {waiting} slips waiting{why_en}; `possettle terminal reprint` prints them",
        f"打印机：{waiting} 张单据待打印{why_zh}；处理后执行 `possettle terminal reprint`",
    )


def _settlement_line(last: dict[str, Any] | None) -> Line:
    if last is None:
        return ("Last settlement: none yet", "上次结算：无")
    batch = f"{last['batch']:06d}"
    if last["step"] != "done":
        return (
            f"Settlement of batch {batch} unfinished (stopped at step {last['step']}): "
            "`possettle terminal settle` resumes it",
            f"批次 {batch} 结算未完成（停在 {last['step']} 步）：再次执行结算将从中断处继续",
        )
    en, zh = _RESULT.get(last["result"], (last["result"], last["result"]))
    return (f"Last settlement: batch {batch}, {en}", f"上次结算：批次 {batch}，{zh}")

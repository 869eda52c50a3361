"""Alipay's daily trade bill (对账单): a zip of two GBK CSVs, the detail (``…_业务明细.csv``)
and the summary (``…_业务明细(汇总).csv``), each wrapped in ``#`` comment lines.

Alipay pads cells with a tab so that spreadsheets keep long numbers as text; every cell is
stripped of tabs and spaces before it is read. 服务费 is written from Alipay's side (negative
when charged); a row's ``fee_fen`` is its negation. A refund row (业务类型 ``退款``) carries a
negative 订单金额; the sign is taken from the type, whatever sign the file writes.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from possettle.clearing.bills._cells import Record, RecordError, lines, record
from possettle.clearing.bills.model import (
    BadLine,
    BillResult,
    BillRow,
    BillTotals,
    TradeType,
    Wallet,
    compare,
    detail_totals,
)
from possettle.clearing.errors import FileFormatError

ENCODING = "gbk"
PAD = " \t"
DETAIL_COLUMNS = (
    "支付宝交易号", "商户订单号", "业务类型", "商品名称", "创建时间", "完成时间", "门店编号",
    "门店名称", "操作员", "终端号", "对方账户", "订单金额（元）", "商家实收（元）",
    "支付宝红包（元）", "集分宝（元）", "支付宝优惠（元）", "商家优惠（元）", "券核销金额（元）",
    "券名称", "商家红包消费金额（元）", "卡消费金额（元）", "退款批次号/请求号", "服务费（元）",
    "分润（元）", "备注",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）",
    "商家实收（元）", "支付宝优惠（元）", "商家优惠（元）", "卡消费金额（元）", "服务费（元）",
    "分润（元）", "实收净额（元）",
)  # fmt: skip
TOTAL_ROW = "合计"
TYPES = {"交易": TradeType.PAYMENT, "退款": TradeType.REFUND}
# Alipay's summary has no refund amount column, so refunds tie out through 订单金额.
TIED_FIELDS = ("payment_count", "refund_count", "amount_fen", "fee_fen")


def read_alipay_bill(path: Path) -> BillResult:
    """Read the Alipay bill zip at ``path``."""
    return parse_alipay_bill(path.read_bytes(), str(path))


def parse_alipay_bill(data: bytes, name: str) -> BillResult:
    """Read an Alipay bill zip held in ``data``; ``name`` names it in every report."""
    texts = _open(data, name)
    detail_name, detail_text = texts[0]
    file = f"{name}:{detail_name}"
    rows: list[BillRow] = []
    bad: list[BadLine] = []
    for item in _records(detail_text, DETAIL_COLUMNS, file):
        if isinstance(item, BadLine):
            bad.append(item)
            continue
        try:
            rows.append(_row(item))
        except RecordError as exc:
            bad.append(exc.bad_line)
    totals: BillTotals | None = None
    if len(texts) > 1:
        summary_name, summary_text = texts[1]
        totals = _summary(summary_text, f"{name}:{summary_name}", bad)
    detail = detail_totals(tuple(rows))
    return BillResult(
        wallet=Wallet.ALIPAY,
        file=name,
        rows=tuple(rows),
        summary=totals,
        detail=detail,
        mismatches=compare(totals, detail, TIED_FIELDS) if totals else (),
        bad_lines=tuple(bad),
    )


def _row(rec: Record) -> BillRow:
    kind = TYPES.get(rec.text("业务类型"))
    if kind is None:
        raise rec.bad("业务类型", f"not 交易 or 退款: {rec.text('业务类型')!r}")
    amount = abs(rec.fen("订单金额（元）"))
    settled = abs(rec.fen("商家实收（元）", empty_is_zero=True))
    refund = kind is TradeType.REFUND
    return BillRow(
        wallet=Wallet.ALIPAY,
        line=rec.line.number,
        trade_no=rec.text("商户订单号"),
        wallet_txn_id=rec.text("支付宝交易号"),
        time=rec.time("完成时间"),
        type=kind,
        amount_fen=-amount if refund else amount,
        settled_fen=-settled if refund else settled,
        fee_fen=-rec.fen("服务费（元）", empty_is_zero=True),
        refund_fen=amount if refund else 0,
        status=rec.text("业务类型"),
        refund_no=rec.optional("退款批次号/请求号"),
        store_id=rec.optional("门店编号"),
        store_name=rec.optional("门店名称"),
        terminal_id=rec.optional("终端号"),
    )


def _summary(text: str, file: str, bad: list[BadLine]) -> BillTotals | None:
    """The 合计 row of the summary file, or the sum of its store rows when it has none."""
    stores: list[BillTotals] = []
    for item in _records(text, SUMMARY_COLUMNS, file):
        if isinstance(item, BadLine):
            bad.append(item)
            continue
        try:
            payments, refunds = item.count("交易订单总笔数"), item.count("退款订单总笔数")
            totals = BillTotals(
                row_count=payments + refunds,
                payment_count=payments,
                refund_count=refunds,
                amount_fen=item.fen("订单金额（元）"),
                settled_fen=item.fen("商家实收（元）", empty_is_zero=True),
                refund_fen=0,
                fee_fen=-item.fen("服务费（元）", empty_is_zero=True),
            )
        except RecordError as exc:
            bad.append(exc.bad_line)
            continue
        if item.text("门店编号").startswith(TOTAL_ROW):
            return totals
        stores.append(totals)
    if not stores:
        return None
    return BillTotals(
        row_count=sum(s.row_count for s in stores),
        payment_count=sum(s.payment_count for s in stores),
        refund_count=sum(s.refund_count for s in stores),
        amount_fen=sum(s.amount_fen for s in stores),
        settled_fen=sum(s.settled_fen for s in stores),
        refund_fen=0,
        fee_fen=sum(s.fee_fen for s in stores),
    )


def _records(text: str, columns: tuple[str, ...], file: str) -> list[Record | BadLine]:
    """The data lines of one CSV: after the header row (first cell ``columns[0]``), up to the
    next ``#`` line; ``#`` lines before the header are the file's comments."""
    header: tuple[str, ...] | None = None
    out: list[Record | BadLine] = []
    for line in lines(text, ENCODING):
        if line.text.startswith("#"):
            if header is not None:
                break
            continue
        if not line.text.strip(PAD):
            continue
        try:
            cells = line.cells(file, PAD)
        except RecordError as exc:
            if header is None:
                raise FileFormatError(f"{exc} (not an Alipay bill)") from exc
            out.append(exc.bad_line)
            continue
        if header is None:
            if cells[0] != columns[0]:
                raise FileFormatError(
                    f"{file}: line {line.number} (byte {line.byte_offset}): not an Alipay bill: "
                    f"expected the header row starting {columns[0]!r}"
                )
            missing = [c for c in columns if c not in cells]
            if missing:
                raise FileFormatError(
                    f"{file}: line {line.number}: header lacks the columns {missing}"
                )
            header = tuple(cells)
            continue
        try:
            out.append(record(file, line, header, cells))
        except RecordError as exc:
            out.append(exc.bad_line)
    if header is None:
        raise FileFormatError(f"{file}: not an Alipay bill: no header row {columns[0]!r}")
    return out


def _member_name(info: zipfile.ZipInfo) -> str:
    # Alipay writes GBK member names without the zip's UTF-8 flag; zipfile then decodes
    # them as cp437, which is undone here.
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode(ENCODING)
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _open(data: bytes, name: str) -> list[tuple[str, str]]:
    """The detail CSV's name and text, then the summary's when the zip holds one."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FileFormatError(f"{name}: not an Alipay bill: not a zip file") from exc
    with archive:
        members = {_member_name(info): info for info in archive.infolist()}
        detail = [m for m in members if m.endswith("业务明细.csv")]
        summary = [m for m in members if m.endswith("业务明细(汇总).csv")]
        if len(detail) != 1:
            raise FileFormatError(
                f"{name}: not an Alipay bill: expected one …_业务明细.csv, found {sorted(members)}"
            )
        return [(m, _decode(archive.read(members[m]), f"{name}:{m}")) for m in detail + summary[:1]]


def _decode(raw: bytes, file: str) -> str:
    try:
        return raw.decode(ENCODING)
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{file}: byte {exc.start}: not GBK text: {exc.reason}") from exc

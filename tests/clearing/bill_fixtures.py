"""Wallet bills built in code, in the layouts of docs/clearing.md ("Wallet bills")."""

from __future__ import annotations

import io
import zipfile

from possettle.clearing.bills.alipay import DETAIL_COLUMNS, SUMMARY_COLUMNS

ALIPAY_PAYMENT = {
    "支付宝交易号": "2026120722001400001",
    "商户订单号": "T0001",
    "业务类型": "交易",
    "商品名称": "咖啡",
    "创建时间": "2026-12-07 10:26:40",
    "完成时间": "2026-12-07 10:26:45",
    "门店编号": "S01",
    "门店名称": "静安寺店",
    "终端号": "TERM0001",
    "订单金额（元）": "12.34",
    "商家实收（元）": "12.34",
    "服务费（元）": "-0.07",
}
ALIPAY_REFUND = {
    **ALIPAY_PAYMENT,
    "业务类型": "退款",
    "完成时间": "2026-12-07 15:00:00",
    "订单金额（元）": "-2.30",
    "商家实收（元）": "-2.30",
    "退款批次号/请求号": "R0001",
    "服务费（元）": "0.01",
}
ALIPAY_TOTAL = {
    "门店编号": "合计",
    "交易订单总笔数": "1",
    "退款订单总笔数": "1",
    "订单金额（元）": "10.04",
    "商家实收（元）": "10.04",
    "服务费（元）": "-0.06",
}


def _alipay_line(columns: tuple[str, ...], values: dict[str, str]) -> str:
    # Alipay pads each cell with a tab; trailing spaces appear too.
    return ",".join(values.get(c, "") + "\t" for c in columns)


def alipay_detail_csv(rows: list[dict[str, str]], extra: list[str] | None = None) -> str:
    lines = [
        "#支付宝业务明细查询",
        "#账号：[20880000000000000156]",
        "#起始日期：[2026年12月07日 00:00:00]   终止日期：[2026年12月08日 00:00:00]",
        "#-----------------------------------------业务明细列表----------------------------------------",
        ",".join(DETAIL_COLUMNS),
        *(_alipay_line(DETAIL_COLUMNS, r) for r in rows),
        *(extra or []),
        "#-----------------------------------------业务明细列表结束------------------------------------",
        f"#交易合计：{len(rows)}笔，退款合计：0笔",
        "#导出时间：[2026年12月08日 10:12:13]",
    ]
    return "\r\n".join(lines) + "\r\n"


def alipay_summary_csv(rows: list[dict[str, str]]) -> str:
    lines = [
        "#支付宝业务汇总查询",
        "#账号：[20880000000000000156]",
        "#-----------------------------------------业务汇总列表----------------------------------------",
        ",".join(SUMMARY_COLUMNS),
        *(_alipay_line(SUMMARY_COLUMNS, r) for r in rows),
        "#-----------------------------------------业务汇总列表结束------------------------------------",
        "#导出时间：[2026年12月08日 10:12:13]",
    ]
    return "\r\n".join(lines) + "\r\n"


def alipay_zip(detail: str, summary: str | None, *, utf8_names: bool = False) -> bytes:
    """A bill zip as Alipay serves it: GBK CSVs under GBK member names (no UTF-8 flag)."""
    stem = "20880000000000000156_20261207"
    members = [(f"{stem}_业务明细.csv", detail)]
    if summary is not None:
        members.append((f"{stem}_业务明细(汇总).csv", summary))
    buffer = io.BytesIO()
    placeholders: list[tuple[bytes, bytes]] = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, text) in enumerate(members):
            # zipfile writes a non-ASCII name as UTF-8 with the flag; Alipay writes GBK names
            # without it, so an ASCII placeholder of the same length is swapped in afterwards.
            raw = name.encode("gbk")
            placeholder = f"{index}".ljust(len(raw), "x").encode()
            placeholders.append((placeholder, raw))
            info = zipfile.ZipInfo(
                name if utf8_names else placeholder.decode(), date_time=(2026, 12, 8, 10, 12, 13)
            )
            archive.writestr(info, text.encode("gbk"))
    data = buffer.getvalue()
    if not utf8_names:
        for placeholder, raw in placeholders:
            data = data.replace(placeholder, raw)
    return data


WECHAT_COLUMNS = (
    "交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号",
    "用户标识", "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额",
    "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态",
    "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注",
)  # fmt: skip
WECHAT_SUMMARY_COLUMNS = (
    "总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额",
    "订单总金额", "申请退款总金额",
)  # fmt: skip
WECHAT_PAYMENT = {
    "交易时间": "2026-12-07 09:15:02",
    "公众账号ID": "wx2421b1c4370ec43b",
    "商户号": "1900000109",
    "设备号": "POS-07",
    "微信订单号": "4200001234202612070000000001",
    "商户订单号": "T0002",
    "用户标识": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    "交易类型": "MICROPAY",
    "交易状态": "SUCCESS",
    "付款银行": "CMB_DEBIT",
    "货币种类": "CNY",
    "应结订单金额": "100.00",
    "代金券金额": "0.00",
    "退款金额": "0.00",
    "充值券退款金额": "0.00",
    "商品名称": "牛肉面（大碗）",
    "手续费": "0.60000",
    "费率": "0.60%",
    "订单金额": "100.00",
    "申请退款金额": "0.00",
}
WECHAT_REFUND = {
    **WECHAT_PAYMENT,
    "交易时间": "2026-12-07 18:40:00",
    # the trailing space the research warns of: other parsers miss this refund
    "交易状态": "REFUND ",
    "应结订单金额": "0.00",
    "微信退款单号": "50300000012026120700000000001",
    "商户退款单号": "R0002",
    "退款金额": "25.50",
    "退款类型": "ORIGINAL",
    "退款状态": "SUCCESS",
    "手续费": "-0.15000",
    "订单金额": "0.00",
    "申请退款金额": "25.50",
}
WECHAT_TOTAL = {
    "总交易单数": "2",
    "应结订单总金额": "100.00",
    "退款总金额": "25.50",
    "充值券退款总金额": "0.00",
    "手续费总金额": "0.45000",
    "订单总金额": "100.00",
    "申请退款总金额": "25.50",
}


def _wechat_line(columns: tuple[str, ...], values: dict[str, str]) -> str:
    return ",".join("`" + values.get(c, "") for c in columns)


def wechat_csv(
    rows: list[dict[str, str]], total: dict[str, str] | None, extra: list[str] | None = None
) -> bytes:
    lines = [
        ",".join(WECHAT_COLUMNS),
        *(_wechat_line(WECHAT_COLUMNS, r) for r in rows),
        *(extra or []),
    ]
    if total is not None:
        lines += [",".join(WECHAT_SUMMARY_COLUMNS), _wechat_line(WECHAT_SUMMARY_COLUMNS, total)]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")

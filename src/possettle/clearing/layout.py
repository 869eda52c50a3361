"""The ACOM / ACOMA general transaction record layout, as data.

UnionPay's acquirer clearing file (机构一般交易流水) is fixed-width: each field has a fixed
length in bytes and is followed by one space. ACOM is the first 33 fields; ACOMA adds 其他信息
and 35 "COMA" fields (69 in all). The lengths were rebuilt from two unrelated open-source
parsers (docs/clearing.md names them); the field names here are possettle's, the meanings are
the spec's Chinese names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

SEPARATOR = b" "
ENCODING = "gbk"


class Kind(enum.Enum):
    """How a field's value is written and read."""

    TEXT = "text"  # GBK, left-justified, space-padded by bytes
    NUMERIC = "numeric"  # ASCII digits, right-justified, zero-padded (codes: MTI, STAN, MCC)
    AMOUNT = "amount"  # fen, ASCII digits, right-justified, zero-padded, never negative
    SIGNED_AMOUNT = "signed amount"  # fen after a sign byte: C negative, D positive
    TIME = "time"  # MMDDhhmmss; the year comes from the clearing date in the file name


class Variant(enum.Enum):
    """Which record: ACOM (33 fields) or ACOMA (69 fields)."""

    ACOM = "ACOM"
    ACOMA = "ACOMA"


@dataclass(frozen=True, slots=True)
class Field:
    """One field of the record: its number (1-based), name, length in bytes, kind, meaning."""

    number: int
    name: str
    length: int
    kind: Kind
    meaning: str


def _fields(start: int, rows: list[tuple[str, int, Kind, str]]) -> tuple[Field, ...]:
    return tuple(Field(start + i, *row) for i, row in enumerate(rows))


T, N, A, S, TM = Kind.TEXT, Kind.NUMERIC, Kind.AMOUNT, Kind.SIGNED_AMOUNT, Kind.TIME

ACOM_FIELDS: tuple[Field, ...] = _fields(
    1,
    [
        ("acquirer_agent_id", 11, T, "代理机构标识码"),
        ("forwarding_inst_id", 11, T, "发送机构标识码"),
        ("stan", 6, N, "系统跟踪号"),
        ("transmitted_at", 10, TM, "交易传输时间 (MMDDhhmmss)"),
        ("pan", 19, T, "主账号 (masked: first 6, last 4)"),
        ("amount", 12, A, "交易金额 (fen)"),
        ("partial_amount", 12, A, "部分代收时的承兑金额 (fen)"),
        ("cardholder_fee", 12, A, "持卡人交易手续费 (fen)"),
        ("message_type", 4, N, "报文类型"),
        ("processing_code", 6, N, "交易类型码"),
        ("mcc", 4, N, "商户类型 (MCC)"),
        ("terminal_id", 8, T, "受卡机终端标识码"),
        ("merchant_id", 15, T, "受卡方标识码 (merchant id)"),
        ("rrn", 12, T, "检索参考号 (RRN)"),
        ("pos_condition_code", 2, N, "服务点条件码"),
        ("auth_code", 6, T, "授权应答码"),
        ("receiving_inst_id", 11, T, "接收机构标识码"),
        ("original_stan", 6, N, "原始交易的系统跟踪号"),
        ("response_code", 2, T, "交易返回码"),
        ("pos_entry_mode", 3, N, "服务点输入方式"),
        ("acquirer_fee_receivable", 12, S, "受理方应收手续费 (fen, signed)"),
        ("acquirer_fee_payable", 12, S, "受理方应付手续费 (fen, signed)"),
        ("switching_fee", 12, S, "转接服务费 (fen, signed)"),
        ("single_dual_flag", 1, T, "单双转换标志"),
        ("card_sequence_number", 3, T, "卡片序列号"),
        ("terminal_read_capability", 1, T, "终端读取能力"),
        ("ic_condition_code", 1, T, "IC卡条件代码"),
        ("original_transmitted_at", 10, TM, "原始交易日期时间 (MMDDhhmmss)"),
        ("issuer_inst_id", 11, T, "发卡机构标识码"),
        ("region_flag", 1, T, "交易地域标志"),
        ("terminal_type", 2, T, "终端类型"),
        ("eci", 2, T, "ECI标志"),
        ("installment_fee", 12, A, "分期付款附加手续费 (fen)"),
    ],
)

_ROLES: list[tuple[str, int, Kind, str]] = []
for _n in range(1, 10):
    _ROLES.append((f"role_{_n}", 11, T, f"收单方服务角色{_n}"))
    _ROLES.append((f"role_{_n}_fee", 9, S, f"收单方服务角色{_n}费用 (fen, signed)"))

ACOMA_EXTRA_FIELDS: tuple[Field, ...] = _fields(
    34,
    [
        ("other_info", 14, T, "其他信息"),
        ("sending_clearing_inst", 11, T, "发送方清算机构"),
        ("receiving_clearing_inst", 11, T, "接收方清算机构"),
        ("reversal_flag", 1, T, "冲正标志 (R: a reversal)"),
        ("void_flag", 1, T, "撤销标志 (C: a void)"),
        ("clearing_date", 4, N, "清算日期 (MMDD)"),
        ("clearing_session", 2, T, "清算场次"),
        ("merchant_name", 40, T, "商户名称地址 (GBK, may be Chinese)"),
        ("currency", 3, N, "交易币种"),
        ("auto_discount_fee", 9, S, "银联代理清算收单机构自动折扣手续费 (fen, signed)"),
        ("merchant_fee", 9, S, "商户手续费 (fen, signed)"),
        ("merchant_settlement_bank", 11, T, "商户结算行"),
        ("merchant_settlement_bank_fee", 9, S, "商户结算行费用 (fen, signed)"),
        *_ROLES,
        ("custom_fee_1", 9, S, "银联代理清算收单机构自定义费用1 (fen, signed)"),
        ("custom_fee_2", 9, S, "银联代理清算收单机构自定义费用2 (fen, signed)"),
        ("custom_fee_3", 9, S, "银联代理清算收单机构自定义费用3 (fen, signed)"),
        ("transfer_in_pan", 19, T, "转入卡号 (masked: first 6, last 4)"),
        ("reserved", 280, T, "保留使用"),
    ],
)

ACOMA_FIELDS: tuple[Field, ...] = ACOM_FIELDS + ACOMA_EXTRA_FIELDS

# Fields that carry a card number: never written or returned in clear.
PAN_FIELDS = frozenset({"pan", "transfer_in_pan"})


def fields_of(variant: Variant) -> tuple[Field, ...]:
    """The fields of one record variant, in file order."""
    return ACOM_FIELDS if variant is Variant.ACOM else ACOMA_FIELDS


def data_length(variant: Variant) -> int:
    """The bytes of a record's fields, separators not counted."""
    return sum(f.length for f in fields_of(variant))


def line_length(variant: Variant) -> int:
    """The bytes of a written line: every field and the one space after it (no newline)."""
    return sum(f.length + len(SEPARATOR) for f in fields_of(variant))


def offsets(variant: Variant) -> tuple[tuple[Field, int], ...]:
    """Each field with its 0-based byte offset in the line."""
    out: list[tuple[Field, int]] = []
    pos = 0
    for f in fields_of(variant):
        out.append((f, pos))
        pos += f.length + len(SEPARATOR)
    return tuple(out)

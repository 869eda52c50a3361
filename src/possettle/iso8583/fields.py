"""Typed views of the PS-CUP/1 sub-fields: 48 (totals, upload records, count), 60, 61, 44.

Each type parses the digit string of its field and formats itself back, so no code slices
field strings by hand.

>>> Field60.parse("22000001000").batch
1
>>> str(Field61(batch=1, stan=2))
'000001000002'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from possettle.iso8583.errors import DecodeError


class TxnType(StrEnum):
    """60.1 transaction type."""

    MANAGEMENT = "00"
    BALANCE = "01"
    SALE = "22"
    VOID = "23"
    REFUND = "25"
    OFFLINE = "36"


class NetworkCode(StrEnum):
    """60.3 network-management code."""

    FINANCIAL = "000"
    SIGN_OFF = "002"
    SIGN_ON = "003"
    SETTLE = "201"  # settlement and batch upload
    UPLOAD_END_UNBALANCED = "202"
    UPLOAD_END_BALANCED = "207"
    ECHO = "301"
    STATUS_REPORT = "362"


class SettleResult(IntEnum):
    """Result digit of each settlement-totals half."""

    REQUEST = 0
    BALANCED = 1
    UNBALANCED = 2
    ERROR = 3


def _digits(value: str, field: str, length: int | None = None) -> str:
    if not value.isdigit() or (length is not None and len(value) != length):
        want = f"{length} digits" if length is not None else "digits"
        raise DecodeError(f"expected {want}, got {len(value)} characters", field=field)
    return value


@dataclass(frozen=True, slots=True)
class Field60:
    """60.1 transaction type n2 · 60.2 batch n6 · 60.3 network code n3 (· anything after)."""

    txn_type: TxnType
    batch: int
    network_code: NetworkCode
    rest: str = ""

    @classmethod
    def parse(cls, value: str) -> Field60:
        if len(value) < 11:
            raise DecodeError(f"field 60 needs at least 11 digits, got {len(value)}", field="60")
        _digits(value, "60")
        try:
            txn = TxnType(value[0:2])
        except ValueError as exc:
            raise DecodeError(f"unknown transaction type {value[0:2]}", field="60.1") from exc
        try:
            code = NetworkCode(value[8:11])
        except ValueError as exc:
            raise DecodeError(f"unknown network code {value[8:11]}", field="60.3") from exc
        return cls(txn, int(value[2:8]), code, value[11:])

    def __str__(self) -> str:
        return f"{self.txn_type.value}{self.batch:06d}{self.network_code.value}{self.rest}"


@dataclass(frozen=True, slots=True)
class Field61:
    """Original transaction: 61.1 batch n6 · 61.2 STAN n6 · 61.3 date MMDD n4 (optional)."""

    batch: int
    stan: int
    date: str | None = None

    @classmethod
    def parse(cls, value: str) -> Field61:
        _digits(value, "61")
        if len(value) not in (12, 16):
            raise DecodeError(f"field 61 must be 12 or 16 digits, got {len(value)}", field="61")
        return cls(int(value[0:6]), int(value[6:12]), value[12:16] or None)

    def __str__(self) -> str:
        return f"{self.batch:06d}{self.stan:06d}{self.date or ''}"


@dataclass(frozen=True, slots=True)
class HalfTotals:
    """One half of the settlement totals (31 digits).

    The counts are n3 on the wire. A batch can hold more than 999 transactions of one half, so
    a count is carried as its lowest three digits (``count % 1000``) and compared that way:
    the amounts, n12, still tell two batches apart (docs/protocol.md, "Totals").
    """

    debit_amount: int = 0
    debit_count: int = 0
    credit_amount: int = 0
    credit_count: int = 0
    result: SettleResult = SettleResult.REQUEST

    @classmethod
    def parse(cls, value: str, field: str = "48") -> HalfTotals:
        _digits(value, field, 31)
        try:
            result = SettleResult(int(value[30]))
        except ValueError as exc:
            raise DecodeError(f"unknown settlement result {value[30]}", field=field) from exc
        return cls(
            int(value[0:12]), int(value[12:15]), int(value[15:27]), int(value[27:30]), result
        )

    def __str__(self) -> str:
        return (
            f"{self.debit_amount:012d}{self.debit_count % 1000:03d}"
            f"{self.credit_amount:012d}{self.credit_count % 1000:03d}{int(self.result)}"
        )

    def same_figures(self, other: HalfTotals) -> bool:
        """Equal amounts and counts, whatever the result digit."""
        return (
            self.debit_amount,
            self.debit_count % 1000,
            self.credit_amount,
            self.credit_count % 1000,
        ) == (
            other.debit_amount,
            other.debit_count % 1000,
            other.credit_amount,
            other.credit_count % 1000,
        )

    def with_result(self, result: SettleResult) -> HalfTotals:
        return HalfTotals(
            self.debit_amount, self.debit_count, self.credit_amount, self.credit_count, result
        )


@dataclass(frozen=True, slots=True)
class SettlementTotals:
    """Field 48 of 0500/0510: domestic (CUP) half then foreign half, 62 digits."""

    domestic: HalfTotals
    foreign: HalfTotals

    @classmethod
    def parse(cls, value: str) -> SettlementTotals:
        _digits(value, "48", 62)
        return cls(HalfTotals.parse(value[:31]), HalfTotals.parse(value[31:]))

    def __str__(self) -> str:
        return str(self.domestic) + str(self.foreign)

    @property
    def balanced(self) -> bool:
        return (
            self.domestic.result is SettleResult.BALANCED
            and self.foreign.result is SettleResult.BALANCED
        )


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """One batch-upload record: org flag n2 · STAN n6 · PAN n20 (zero-padded) · amount n12."""

    domestic: bool
    stan: int
    pan: str
    amount: int

    def __repr__(self) -> str:
        from possettle.cards import mask_pan

        return (
            f"UploadRecord(domestic={self.domestic}, stan={self.stan:06d}, "
            f"pan={mask_pan(self.pan)!r}, amount={self.amount})"
        )

    def __str__(self) -> str:
        flag = "00" if self.domestic else "01"
        return f"{flag}{self.stan:06d}{self.pan.rjust(20, '0')}{self.amount:012d}"


MAX_UPLOAD_RECORDS = 8
_RECORD_LEN = 40


def parse_upload_records(value: str) -> list[UploadRecord]:
    """Field 48 of a 0320 upload: count n2 then that many 40-digit records."""
    _digits(value, "48")
    if len(value) < 2:
        raise DecodeError("upload records need a 2-digit count", field="48")
    count = int(value[:2])
    if count > MAX_UPLOAD_RECORDS:
        raise DecodeError(f"{count} records exceed {MAX_UPLOAD_RECORDS} per message", field="48")
    if len(value) != 2 + count * _RECORD_LEN:
        raise DecodeError(
            f"count {count} needs {2 + count * _RECORD_LEN} digits, got {len(value)}", field="48"
        )
    records = []
    for i in range(count):
        rec = value[2 + i * _RECORD_LEN : 2 + (i + 1) * _RECORD_LEN]
        flag = rec[0:2]
        if flag not in ("00", "01"):
            raise DecodeError(f"record {i + 1}: card-org flag {flag} is not 00/01", field="48")
        records.append(
            UploadRecord(flag == "00", int(rec[2:8]), rec[8:28].lstrip("0"), int(rec[28:40]))
        )
    return records


def format_upload_records(records: list[UploadRecord]) -> str:
    if len(records) > MAX_UPLOAD_RECORDS:
        raise ValueError(f"{len(records)} records exceed {MAX_UPLOAD_RECORDS} per message")
    return f"{len(records):02d}" + "".join(str(r) for r in records)


def parse_upload_count(value: str) -> int:
    """Field 48 of a batch-upload end: records uploaded, n4."""
    return int(_digits(value, "48", 4))


def format_upload_count(count: int) -> str:
    return f"{count:04d}"


@dataclass(frozen=True, slots=True)
class Field44:
    """44.1 issuer id an11 · 44.2 acquirer id an11."""

    issuer: str
    acquirer: str

    def __str__(self) -> str:
        return self.issuer.ljust(11)[:11] + self.acquirer.ljust(11)[:11]

    @classmethod
    def parse(cls, value: str) -> Field44:
        return cls(value[:11].strip(), value[11:22].strip())

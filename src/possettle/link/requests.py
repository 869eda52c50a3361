"""Builders for PS-CUP/1 requests (protocol §3), one function per message.

Each returns the field dict; MACs are added by :class:`~possettle.link.client.Link`.
"""

from __future__ import annotations

from possettle.crypto.keys import Key
from possettle.crypto.pin import encrypt_pin_block
from possettle.iso8583 import merchant_info
from possettle.iso8583.codec import Fields
from possettle.iso8583.fields import (
    Field60,
    Field61,
    NetworkCode,
    SettlementTotals,
    TxnType,
    UploadRecord,
    format_upload_count,
    format_upload_records,
)


def _ids(tid: str, mid: str, stan: int) -> Fields:
    return {"11": f"{stan:06d}", "41": tid, "42": mid}


def sign_on(
    tid: str, mid: str, stan: int, batch: int, operator: str = "01", *, merchant: bool = False
) -> Fields:
    """0800; ``merchant`` asks for the merchant's name and address (possettle's extension,
    :mod:`possettle.iso8583.merchant_info`)."""
    fields: Fields = {
        "t": "0800",
        **_ids(tid, mid, stan),
        "60": str(Field60(TxnType.MANAGEMENT, batch, NetworkCode.SIGN_ON)),
        "63": operator.ljust(3),
    }
    if merchant:
        fields["62"] = merchant_info.request_field62()
    return fields


def management(tid: str, mid: str, stan: int, batch: int, code: NetworkCode) -> Fields:
    """Echo (301) or sign-off (002)."""
    return {
        "t": "0820",
        **_ids(tid, mid, stan),
        "60": str(Field60(TxnType.MANAGEMENT, batch, code)),
    }


def status_report(tid: str, mid: str, stan: int, batch: int, report_json: bytes) -> Fields:
    fields = management(tid, mid, stan, batch, NetworkCode.STATUS_REPORT)
    fields["62"] = report_json.hex().upper()
    return fields


def sale(
    tid: str,
    mid: str,
    stan: int,
    batch: int,
    *,
    pan: str,
    amount: int,
    expiry: str | None = None,
    pin: str | None = None,
    pik: Key | None = None,
) -> Fields:
    fields: Fields = {
        "t": "0200",
        "2": pan,
        "3": "000000",
        "4": f"{amount:012d}",
        **_ids(tid, mid, stan),
        "22": "011" if pin else "012",
        "25": "00",
        "49": "156",
        "60": str(Field60(TxnType.SALE, batch, NetworkCode.FINANCIAL)),
    }
    if expiry:
        fields["14"] = expiry
    if pin is not None and pik is not None:
        fields["26"] = "12"
        fields["52"] = encrypt_pin_block(pik, pin, pan).hex().upper()
        fields["53"] = "2600000000000000"
    return fields


def balance(
    tid: str,
    mid: str,
    stan: int,
    batch: int,
    *,
    pan: str,
    expiry: str | None = None,
    pin: str | None = None,
    pik: Key | None = None,
) -> Fields:
    """A balance enquiry (余额查询): 0200, 3 = ``310000``, 60.1 ``01``, no amount."""
    fields = sale(tid, mid, stan, batch, pan=pan, amount=0, expiry=expiry, pin=pin, pik=pik)
    del fields["4"]
    fields["3"] = "310000"
    fields["60"] = str(Field60(TxnType.BALANCE, batch, NetworkCode.FINANCIAL))
    return fields


def void(
    tid: str,
    mid: str,
    stan: int,
    batch: int,
    *,
    pan: str,
    amount: int,
    orig_batch: int,
    orig_stan: int,
    rrn: str,
    auth_code: str,
) -> Fields:
    return {
        "t": "0200",
        "2": pan,
        "3": "200000",
        "4": f"{amount:012d}",
        **_ids(tid, mid, stan),
        "22": "012",
        "25": "00",
        "37": rrn,
        "38": auth_code,
        "49": "156",
        "60": str(Field60(TxnType.VOID, batch, NetworkCode.FINANCIAL)),
        "61": str(Field61(orig_batch, orig_stan)),
    }


def refund(
    tid: str,
    mid: str,
    stan: int,
    batch: int,
    *,
    pan: str,
    amount: int,
    orig_batch: int,
    orig_stan: int,
    orig_date: str,
    rrn: str,
    card_org: str = "CUP",
) -> Fields:
    return {
        "t": "0220",
        "2": pan,
        "3": "200000",
        "4": f"{amount:012d}",
        **_ids(tid, mid, stan),
        "22": "012",
        "25": "00",
        "37": rrn,
        "49": "156",
        "60": str(Field60(TxnType.REFUND, batch, NetworkCode.FINANCIAL)),
        "61": str(Field61(orig_batch, orig_stan, orig_date)),
        "63": card_org,
    }


def offline_advice(
    tid: str,
    mid: str,
    stan: int,
    batch: int,
    *,
    pan: str,
    amount: int,
    time_hhmmss: str,
    date_mmdd: str,
    auth_code: str,
) -> Fields:
    return {
        "t": "0220",
        "2": pan,
        "3": "000000",
        "4": f"{amount:012d}",
        **_ids(tid, mid, stan),
        "12": time_hhmmss,
        "13": date_mmdd,
        "22": "012",
        "25": "00",
        "38": auth_code,
        "49": "156",
        "60": str(Field60(TxnType.OFFLINE, batch, NetworkCode.FINANCIAL)),
    }


_NOT_IN_REVERSAL = ("35", "36", "52", "53", "26", "64", "12", "13")


def reversal(original: Fields, reason: str, auth_code: str | None = None) -> Fields:
    """The original request as a 0400: same STAN and 60.1, 39 = reason, no PIN/track data."""
    fields = {k: v for k, v in original.items() if k not in _NOT_IN_REVERSAL}
    fields["t"] = "0400"
    fields["39"] = reason
    if auth_code:
        fields["38"] = auth_code
    return fields


def settlement(
    tid: str, mid: str, stan: int, batch: int, totals: SettlementTotals, operator: str = "01"
) -> Fields:
    return {
        "t": "0500",
        **_ids(tid, mid, stan),
        "48": str(totals),
        "49": "156",
        "60": str(Field60(TxnType.MANAGEMENT, batch, NetworkCode.SETTLE)),
        "63": operator.ljust(3),
    }


def batch_upload(tid: str, mid: str, stan: int, batch: int, records: list[UploadRecord]) -> Fields:
    return {
        "t": "0320",
        **_ids(tid, mid, stan),
        "48": format_upload_records(records),
        "60": str(Field60(TxnType.MANAGEMENT, batch, NetworkCode.SETTLE)),
    }


def upload_end(tid: str, mid: str, stan: int, batch: int, count: int, *, balanced: bool) -> Fields:
    code = NetworkCode.UPLOAD_END_BALANCED if balanced else NetworkCode.UPLOAD_END_UNBALANCED
    return {
        "t": "0320",
        **_ids(tid, mid, stan),
        "48": format_upload_count(count),
        "60": str(Field60(TxnType.MANAGEMENT, batch, code)),
    }

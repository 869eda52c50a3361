"""What a PS-CUP/1 message is, from its MTI, processing code and 60.1 / 60.3 (protocol §3).

>>> classify({"t": "0200", "3": "200000", "60": "23000001000"})
<MessageKind.VOID: 'void'>
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from possettle.iso8583.errors import DecodeError
from possettle.iso8583.fields import Field60, NetworkCode, TxnType


class MessageKind(StrEnum):
    SIGN_ON = "sign_on"
    SIGN_OFF = "sign_off"
    ECHO = "echo"
    STATUS_REPORT = "status_report"
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    OFFLINE = "offline"
    BALANCE = "balance"
    REVERSAL = "reversal"
    SETTLE = "settle"
    BATCH_UPLOAD = "batch_upload"
    UPLOAD_END = "upload_end"


#: Settlement (0500/0510) and batch upload and its end (0320/0330): MACed in possettle's
#: dialect, where the protocol page leaves them bare (docs/protocol.md, "Settlement and batch
#: upload are MACed"); the host may accept them without a MAC (policy ``settlement_mac``).
SETTLEMENT_MTIS = frozenset({"0500", "0510", "0320", "0330"})
#: Messages whose request and (approved) reply carry field 64 (protocol §6 and the above).
MACED_MTIS = frozenset({"0200", "0210", "0220", "0230", "0400", "0410"}) | SETTLEMENT_MTIS

_FINANCIAL_BY_TYPE = {
    ("0200", TxnType.SALE): MessageKind.SALE,
    ("0200", TxnType.VOID): MessageKind.VOID,
    ("0200", TxnType.BALANCE): MessageKind.BALANCE,
    ("0220", TxnType.REFUND): MessageKind.REFUND,
    ("0220", TxnType.OFFLINE): MessageKind.OFFLINE,
}
_MANAGEMENT_BY_CODE = {
    ("0800", NetworkCode.SIGN_ON): MessageKind.SIGN_ON,
    ("0820", NetworkCode.ECHO): MessageKind.ECHO,
    ("0820", NetworkCode.SIGN_OFF): MessageKind.SIGN_OFF,
    ("0820", NetworkCode.STATUS_REPORT): MessageKind.STATUS_REPORT,
    ("0500", NetworkCode.SETTLE): MessageKind.SETTLE,
    ("0320", NetworkCode.SETTLE): MessageKind.BATCH_UPLOAD,
    ("0320", NetworkCode.UPLOAD_END_UNBALANCED): MessageKind.UPLOAD_END,
    ("0320", NetworkCode.UPLOAD_END_BALANCED): MessageKind.UPLOAD_END,
}


def reply_mti(mti: str) -> str:
    """0200 → 0210, 0820 → 0830: the response MTI of a request."""
    return mti[:2] + str(int(mti[2]) + 1) + mti[3]


def classify(message: Mapping[str, str]) -> MessageKind:
    """The kind of a request; :class:`DecodeError` when 60 is missing or the pair is unknown."""
    mti = message.get("t", "")
    if "60" not in message:
        raise DecodeError("field 60 is required to identify the message", field="60")
    f60 = Field60.parse(message["60"])
    if mti == "0400":
        return MessageKind.REVERSAL
    kind = _FINANCIAL_BY_TYPE.get((mti, f60.txn_type)) or _MANAGEMENT_BY_CODE.get(
        (mti, f60.network_code)
    )
    if kind is None:
        raise DecodeError(
            f"MTI {mti} with 60.1={f60.txn_type.value} 60.3={f60.network_code.value} "
            "is not a PS-CUP/1 request",
            field="t",
        )
    return kind

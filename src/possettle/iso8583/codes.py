"""Response codes as data (protocol §7): class, meaning in English and Chinese, terminal action.

Classes: ``A`` approved; ``B`` declined by the card's issuer (tell the cardholder);
``C`` declined for the terminal or merchant (fix set-up, call the acquirer); ``D`` a system or
network problem (retry later, reversal rules apply); ``E`` the terminal must act first
(sign on again, fix the message).

The doctor, the terminal and the docs read this table; nothing else hard-codes meanings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    DONE = "done"
    DECLINE = "decline"
    RETRY_LATER = "retry_later"
    SIGN_ON = "sign_on"
    FIX_REQUEST = "fix_request"
    CONTACT_ACQUIRER = "contact_acquirer"


@dataclass(frozen=True, slots=True)
class ResponseCode:
    code: str
    cls: str
    en: str
    zh: str
    action: Action


_TABLE = [
    ResponseCode("00", "A", "approved", "交易成功", Action.DONE),
    ResponseCode("03", "C", "invalid merchant", "无效商户", Action.CONTACT_ACQUIRER),
    ResponseCode("05", "B", "do not honour", "不予承兑", Action.DECLINE),
    ResponseCode("12", "C", "invalid transaction", "无效交易", Action.DECLINE),
    ResponseCode("13", "B", "invalid amount", "无效金额", Action.FIX_REQUEST),
    ResponseCode("14", "B", "invalid card number", "无效卡号", Action.DECLINE),
    ResponseCode(
        "22", "E", "state mismatch, sign on again", "状态不符，请重新签到", Action.SIGN_ON
    ),
    ResponseCode("25", "C", "original not found", "找不到原始交易", Action.DECLINE),
    ResponseCode("30", "E", "format error", "报文格式错误", Action.FIX_REQUEST),
    ResponseCode("41", "B", "lost card", "挂失卡", Action.DECLINE),
    ResponseCode("51", "B", "insufficient funds", "余额不足", Action.DECLINE),
    ResponseCode("54", "B", "expired card", "过期卡", Action.DECLINE),
    ResponseCode("55", "B", "incorrect PIN", "密码错误", Action.DECLINE),
    ResponseCode(
        "58", "C", "not permitted on this terminal", "终端不允许此交易", Action.CONTACT_ACQUIRER
    ),
    ResponseCode("61", "B", "exceeds amount limit", "超出金额限制", Action.DECLINE),
    ResponseCode("62", "B", "restricted card", "受限制的卡", Action.DECLINE),
    ResponseCode(
        "77", "E", "batch mismatch, sign on again", "批次号不符，请重新签到", Action.SIGN_ON
    ),
    ResponseCode("90", "D", "cut-over in progress", "日切处理中", Action.RETRY_LATER),
    ResponseCode("91", "D", "issuer unavailable", "发卡行不可用", Action.RETRY_LATER),
    ResponseCode("94", "C", "duplicate", "重复交易", Action.DONE),
    ResponseCode("96", "D", "system malfunction", "系统故障", Action.RETRY_LATER),
    ResponseCode("97", "C", "terminal not registered", "终端未登记", Action.CONTACT_ACQUIRER),
    ResponseCode("98", "D", "no reply from issuer", "发卡行无应答", Action.RETRY_LATER),
    ResponseCode("A0", "E", "MAC error, sign on again", "MAC校验错，请重新签到", Action.SIGN_ON),
]

CODES: dict[str, ResponseCode] = {rc.code: rc for rc in _TABLE}

APPROVED = "00"


def describe(code: str) -> ResponseCode:
    """The table entry of a code; unknown codes are class ``D`` (treat as a system problem)."""
    return CODES.get(
        code, ResponseCode(code, "D", f"response code {code}", f"应答码 {code}", Action.RETRY_LATER)
    )

"""possettle's response-code dialect as data (protocol §7): possettle's class, meaning in English
and Chinese, terminal action, and the cause the doctor and the alert rules read into it.

Two letter scales, two names — never one name for both:

* ``cls`` is **possettle's class** (the ``rc_class`` metric label): ``A`` approved; ``B``
  declined by the card's issuer (tell the cardholder); ``C`` declined for the terminal or
  merchant (fix set-up, call the acquirer); ``D`` a system or network problem (retry later,
  reversal rules apply); ``E`` the terminal must act first (sign on again, fix the message).
* ``cup_category`` is **CUP's action category**, read from the CUP field-39 table
  (:mod:`.cup`, ``data/cup39.toml``): ``A`` success, ``B`` failed, can retry, ``C`` failed, no
  point retrying, ``D`` failed, the operator must act, ``E`` failed, system fault. The CUP
  table is also the one source of a code's CUP meaning; this table words the meaning the way
  possettle's terminal and console show it.

``cause`` is the doctor's cause family (a :mod:`possettle.doctor.catalog` id, documented in
docs/doctor.md, "Causes"); the alert rules count a code as "issuer down" exactly
when its cause is ``issuer.unavailable``, so the two cannot disagree. ``90`` is the host's
day cut-over (日切) in the CUP response-code tables terminal applications carry: a window to
wait out (``operation.outside_hours``), not an issuer fault.

The doctor, the alert rules, the terminal and the console read this table; nothing else
spells a code set or a meaning (``tests/iso8583/test_codes_single_source.py``).

>>> describe("90").cause, describe("90").issuer_down
('operation.outside_hours', False)
>>> describe("A0").cls, describe("A0").cup_category
('E', <CupCategory.B: 'B'>)
>>> issuer_down_codes()
('06', '91', '92', '96', '98')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict

from possettle.iso8583.cup import CupCategory, find


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
    #: the doctor's cause family (a catalog cause id), or None: the code alone says nothing
    cause: str | None = None
    #: the doctor's signal (a likelihoods.FACTORS key); by default ``code.<code>``
    signal: str | None = None
    #: the doctor reads it only as the answer to a settlement message (94: already closed)
    settle_only: bool = False
    #: a 0410 with this code ends the reversal (done, or the host never saw the original)
    ends_reversal: bool = False
    #: the host sends its reversal upstream again after this answer (the issuer may come back)
    upstream_retry: bool = False
    #: a refusal that depends on the terminal's state on the host (registration, sign-on,
    #: batch): a reply cached before the state changed is stale
    state_refusal: bool = False

    @property
    def cup_category(self) -> CupCategory | None:
        """CUP's action category of the code (the CUP table, :mod:`.cup`); None for a code the
        CUP table lacks. Not ``cls``: that is possettle's own class."""
        row = find(self.code)
        return row.category if row else None

    @property
    def issuer_down(self) -> bool:
        """The issuer or card network is not answering (the alert rules' "issuer down")."""
        return self.cause == ISSUER_UNAVAILABLE

    @property
    def doctor_signal(self) -> str | None:
        if self.cause is None:
            return None
        return self.signal or f"code.{self.code}"


ISSUER_UNAVAILABLE = "issuer.unavailable"


class _Family(TypedDict):
    cause: str
    signal: str


_ISSUER: _Family = {"cause": ISSUER_UNAVAILABLE, "signal": "code.issuer"}
_PERMISSION: _Family = {"cause": "permission.denied", "signal": "code.permission"}
_RESTRICTED: _Family = {"cause": "operation.restricted", "signal": "code.restricted"}
_INPUT: _Family = {"cause": "input.invalid", "signal": "code.input"}
_ORDER: _Family = {"cause": "operation.out_of_order", "signal": "code.order"}

_TABLE = [
    ResponseCode("00", "A", "approved", "交易成功", Action.DONE, ends_reversal=True),
    ResponseCode(
        "03",
        "C",
        "invalid merchant",
        "无效商户",
        Action.CONTACT_ACQUIRER,
        cause="terminal.unregistered",
        state_refusal=True,
    ),
    ResponseCode("05", "B", "do not honour", "不予承兑", Action.DECLINE),
    ResponseCode("06", "D", "error at the issuer", "发卡方出错", Action.RETRY_LATER, **_ISSUER),
    ResponseCode("12", "C", "invalid transaction", "无效交易", Action.DECLINE, **_ORDER),
    ResponseCode("13", "B", "invalid amount", "无效金额", Action.FIX_REQUEST, **_INPUT),
    ResponseCode("14", "B", "invalid card number", "无效卡号", Action.DECLINE),
    ResponseCode(
        "22",
        "E",
        "state mismatch, sign on again",
        "状态不符，请重新签到",
        Action.SIGN_ON,
        cause="batch.sequence_mismatch",
        state_refusal=True,
    ),
    ResponseCode(
        "25",
        "C",
        "original not found",
        "找不到原始交易",
        Action.DECLINE,
        ends_reversal=True,
        **_ORDER,
    ),
    ResponseCode(
        "30", "E", "format error", "报文格式错误", Action.FIX_REQUEST, cause="protocol.incompatible"
    ),
    ResponseCode(
        "40",
        "C",
        "function not supported",
        "请求的功能尚不支持",
        Action.CONTACT_ACQUIRER,
        **_PERMISSION,
    ),
    ResponseCode("41", "B", "lost card", "挂失卡", Action.DECLINE),
    ResponseCode("51", "B", "insufficient funds", "余额不足", Action.DECLINE),
    ResponseCode("54", "B", "expired card", "过期卡", Action.DECLINE),
    ResponseCode("55", "B", "incorrect PIN", "密码错误", Action.DECLINE),
    ResponseCode(
        "57",
        "B",
        "not permitted to this card",
        "不允许持卡人进行的交易",
        Action.DECLINE,
        **_PERMISSION,
    ),
    ResponseCode(
        "58",
        "C",
        "not permitted on this terminal",
        "终端不允许此交易",
        Action.CONTACT_ACQUIRER,
        cause="permission.denied",
    ),
    ResponseCode("59", "B", "suspected fraud", "有作弊嫌疑", Action.DECLINE, **_RESTRICTED),
    ResponseCode("61", "B", "exceeds amount limit", "超出金额限制", Action.DECLINE, **_PERMISSION),
    ResponseCode("62", "B", "restricted card", "受限制的卡", Action.DECLINE, **_RESTRICTED),
    ResponseCode(
        "64", "C", "original amount incorrect", "原始金额错误", Action.FIX_REQUEST, **_INPUT
    ),
    ResponseCode(
        "65", "B", "exceeds frequency limit", "超出消费次数限制", Action.DECLINE, **_PERMISSION
    ),
    ResponseCode(
        "77",
        "E",
        "batch mismatch, sign on again",
        "批次号不符，请重新签到",
        Action.SIGN_ON,
        cause="batch.sequence_mismatch",
        state_refusal=True,
    ),
    ResponseCode(
        "90",
        "D",
        "cut-over in progress",
        "日切处理中",
        Action.RETRY_LATER,
        cause="operation.outside_hours",
    ),
    ResponseCode(
        "91",
        "D",
        "issuer unavailable",
        "发卡行不可用",
        Action.RETRY_LATER,
        upstream_retry=True,
        **_ISSUER,
    ),
    ResponseCode("92", "D", "issuer unreachable", "发卡方线路异常", Action.RETRY_LATER, **_ISSUER),
    ResponseCode(
        "94",
        "C",
        "duplicate",
        "重复交易",
        Action.DONE,
        cause="batch.already_settled",
        signal="code.94.settle",
        settle_only=True,
    ),
    ResponseCode(
        "96",
        "D",
        "system malfunction",
        "系统故障",
        Action.RETRY_LATER,
        upstream_retry=True,
        **_ISSUER,
    ),
    ResponseCode(
        "97",
        "C",
        "terminal not registered",
        "终端未登记",
        Action.CONTACT_ACQUIRER,
        cause="terminal.unregistered",
        state_refusal=True,
    ),
    ResponseCode("98", "D", "no reply from issuer", "发卡行无应答", Action.RETRY_LATER, **_ISSUER),
    ResponseCode(
        "A0",
        "E",
        "MAC error, sign on again",
        "MAC校验错，请重新签到",
        Action.SIGN_ON,
        cause="keys.out_of_sync",
    ),
]

CODES: dict[str, ResponseCode] = {rc.code: rc for rc in _TABLE}

APPROVED = "00"


def describe(code: str) -> ResponseCode:
    """The table entry of a code; unknown codes are class ``D`` (treat as a system problem)."""
    return CODES.get(
        code, ResponseCode(code, "D", f"response code {code}", f"应答码 {code}", Action.RETRY_LATER)
    )


def _codes(pick: Callable[[ResponseCode], bool]) -> tuple[str, ...]:
    return tuple(sorted(rc.code for rc in _TABLE if pick(rc)))


def issuer_down_codes() -> tuple[str, ...]:
    """The codes the alert rules and the doctor's fleet view count as "issuer down"."""
    return _codes(lambda rc: rc.issuer_down)


def family_codes(signal: str) -> tuple[str, ...]:
    """The codes the doctor reads as ``signal`` (a likelihoods.FACTORS key)."""
    return _codes(lambda rc: rc.doctor_signal == signal)


def doctor_signals() -> frozenset[str]:
    """Every signal a response code can give the doctor."""
    return frozenset(s for rc in _TABLE if (s := rc.doctor_signal) is not None)


#: "sign on again" (§7): the host did not process the request; nothing was booked
SIGN_ON_AGAIN: frozenset[str] = frozenset(_codes(lambda rc: rc.action is Action.SIGN_ON))
#: the host has it: approved, or a duplicate of what it already holds (§4, §5)
HOST_HAS_IT: frozenset[str] = frozenset(_codes(lambda rc: rc.action is Action.DONE))
#: a 0410 with one of these ends the reversal
ENDS_REVERSAL: frozenset[str] = frozenset(_codes(lambda rc: rc.ends_reversal))
#: the host retries a reversal upstream after these answers
UPSTREAM_RETRY: frozenset[str] = frozenset(_codes(lambda rc: rc.upstream_retry))
#: refusals that depend on the terminal's state on the host
STATE_REFUSALS: frozenset[str] = frozenset(_codes(lambda rc: rc.state_refusal))

"""What an operator types, checked before anything is journaled or sent.

Each function returns the typed value (or ``None``) or raises
:class:`~possettle.terminal.errors.Refused` with an ``input.*`` code whose ``details`` carry
a ``reason`` (``format``, ``zero``, ``luhn``, ``expired``, …). A card number is never echoed
in clear: messages and details show it masked (first 6 / last 4), and any long run of digits
typed into another field is masked the same way — except in an amount, which is not card
data: there only a run hiding a Luhn-valid card number is masked, so a large amount is shown
as typed.

>>> parse_amount("12.34")
1234
>>> parse_original_ref("1", "000123", "0228")
OriginalRef(batch=1, stan=123, mmdd='0228')
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from possettle.cards import has_card_number, luhn_ok, mask_pan
from possettle.iso8583.fields import Field61
from possettle.money import Money
from possettle.terminal.errors import Refused

MAX_AMOUNT = 999_999_999_999  # field 4 is n12 in minor units
_AMOUNT_RE = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
# Digits, possibly grouped by spaces or dashes as card numbers are written.
_DIGIT_RUN = re.compile(r"[0-9](?:[0-9 -]*[0-9])?")


def parse_amount(text: str) -> int:
    """A positive amount typed as ``"12.34"``, in minor units (fen); at most n12."""
    t = text.strip()
    shown = _shown(t, card_numbers_only=True)
    if t.startswith("-") and _AMOUNT_RE.match(t[1:]):
        _amount_refused(
            "negative",
            f"The amount must not be negative ({shown}).",
            f"金额不能为负数（{shown}）。",
        )
    if not t.isascii() or not _AMOUNT_RE.match(t):
        _amount_refused(
            "format",
            f"{shown!r} is not an amount; enter digits with up to 2 decimals, such as 12.34.",
            f"{shown!r} 不是有效金额，请输入数字，最多两位小数，如 12.34。",
        )
    whole, _, frac = t.partition(".")
    if len(frac) > 2:
        _amount_refused(
            "decimals",
            f"The amount {shown} has more than 2 decimals.",
            f"金额 {shown} 的小数超过两位。",
        )
    # Ten whole digits is the most n12 holds; checking the length first also keeps int()
    # away from thousands of digits.
    whole = whole.lstrip("0") or "0"
    minor = int(whole) * 100 + int(frac.ljust(2, "0")) if len(whole) <= 10 else MAX_AMOUNT + 1
    if minor == 0:
        _amount_refused("zero", "The amount must be more than 0.00.", "金额必须大于 0.00。")
    if minor > MAX_AMOUNT:
        top = Money(MAX_AMOUNT)
        _amount_refused(
            "too_large",
            f"The amount {shown} is over the largest possible amount, {top}.",
            f"金额 {shown} 超过允许的最大金额 {top}。",
        )
    return minor


def check_pan(pan: str) -> None:
    """13 to 19 ASCII digits with a valid Luhn check digit."""
    masked = mask_pan(pan)
    if not (pan.isascii() and pan.isdigit()):
        _pan_refused(
            "format",
            f"The card number {masked} must contain digits only.",
            f"卡号 {masked} 只能包含数字。",
            masked,
        )
    if not 13 <= len(pan) <= 19:
        _pan_refused(
            "length",
            f"The card number {masked} has {len(pan)} digits; a card number has 13 to 19.",
            f"卡号 {masked} 为 {len(pan)} 位，卡号应为 13 至 19 位。",
            masked,
            length=len(pan),
        )
    if not luhn_ok(pan):
        _pan_refused(
            "luhn",
            f"The card number {masked} is not valid (check digit wrong); re-enter it.",
            f"卡号 {masked} 无效（校验位错误），请重新输入。",
            masked,
        )


def check_pin(pin: str) -> None:
    """4 to 12 ASCII digits (ISO 9564 format 0). The PIN is never echoed, only its length."""
    if not (pin.isascii() and pin.isdigit()):
        _pin_refused(
            "format",
            "The PIN must contain digits only; re-enter it.",
            "密码只能包含数字，请重新输入。",
        )
    if not 4 <= len(pin) <= 12:
        _pin_refused(
            "length",
            f"The PIN has {len(pin)} digits; a PIN has 4 to 12. Re-enter it.",
            f"密码为 {len(pin)} 位，密码应为 4 至 12 位，请重新输入。",
            length=len(pin),
        )


def check_rrn(rrn: str) -> None:
    """The original's retrieval reference number (field 37): 12 letters or digits."""
    if not (len(rrn) == 12 and rrn.isascii() and rrn.isalnum()):
        _original_refused(
            "rrn",
            f"The original reference number (RRN) must be 12 letters or digits, got "
            f"{_shown(rrn)!r}.",
            f"原交易参考号须为 12 位字母或数字，输入为 {_shown(rrn)!r}。",
            value=_shown(rrn),
        )


def check_expiry(yymm: str, now: datetime) -> None:
    """Expiry as YYMM (field 14); a card is valid through the last day of that month."""
    if not (len(yymm) == 4 and yymm.isascii() and yymm.isdigit()):
        _expiry_refused(
            "format",
            f"The expiry date must be 4 digits YYMM, got {_shown(yymm)!r}.",
            f"有效期须为 4 位数字 YYMM，输入为 {_shown(yymm)!r}。",
            yymm,
        )
    year, month = 2000 + int(yymm[:2]), int(yymm[2:])
    if not 1 <= month <= 12:
        _expiry_refused(
            "month",
            f"The expiry date {yymm} has month {yymm[2:]}; the month must be 01 to 12.",
            f"有效期 {yymm} 的月份 {yymm[2:]} 无效，应为 01 至 12。",
            yymm,
        )
    if (year, month) < (now.year, now.month):
        _expiry_refused(
            "expired",
            f"The card expired at the end of {month:02d}/{year} (today is {now:%Y-%m-%d}).",
            f"该卡已于 {year} 年 {month:02d} 月底过期（今天是 {now:%Y-%m-%d}）。",
            yymm,
        )


@dataclass(frozen=True, slots=True)
class OriginalRef:
    """The original transaction of a void or refund: 61.1 batch · 61.2 STAN · 61.3 MMDD."""

    batch: int
    stan: int
    mmdd: str | None = None

    def field61(self) -> Field61:
        return Field61(self.batch, self.stan, self.mmdd)


def parse_original_ref(
    batch: str | int, stan: str | int, date_mmdd: str | None = None
) -> OriginalRef:
    """Batch and trace number (1–999999) and, for a refund, the original date MMDD."""
    b = _n6(batch, "batch", "batch number", "批次号")
    s = _n6(stan, "stan", "trace number (STAN)", "凭证号")
    if date_mmdd is None:
        return OriginalRef(b, s)
    d = date_mmdd
    ok = len(d) == 4 and d.isascii() and d.isdigit()
    month, day = (int(d[:2]), int(d[2:])) if ok else (0, 0)
    # No year is given: allow 29 February, as a leap-year date may be referred to.
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(2000, month)[1]):
        _original_refused(
            "date",
            f"The original date must be a valid MMDD such as 0315, got {_shown(d)!r}.",
            f"原交易日期须为有效的 MMDD（如 0315），输入为 {_shown(d)!r}。",
            value=_shown(d),
        )
    return OriginalRef(b, s, d)


def _n6(value: str | int, name: str, en_name: str, zh_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{name} must be str or int, got {type(value).__name__}")
    text = str(value)
    ok = text.isascii() and text.isdigit() and len(text) <= 6
    if not ok or not 1 <= int(text) <= 999_999:
        _original_refused(
            name,
            f"The original {en_name} must be 1 to 999999 (up to 6 digits), got {_shown(text)!r}.",
            f"原交易{zh_name}须为 1 至 999999（最多 6 位数字），输入为 {_shown(text)!r}。",
            value=_shown(text),
        )
    return int(text)


def _shown(text: str, *, card_numbers_only: bool = False) -> str:
    """``text`` safe to show: long digit runs (a PAN typed into the wrong field) masked.

    An amount is not card data (``card_numbers_only``): there a run of digits, grouped or
    not, is masked only when it hides a Luhn-valid card number, so a large amount is shown as
    typed and a card number typed as an amount is not.
    """

    def mask(m: re.Match[str]) -> str:
        digits = re.sub(r"[^0-9]", "", m.group())
        if card_numbers_only:
            return mask_pan(digits) if has_card_number(digits) else m.group()
        return mask_pan(digits) if len(digits) >= 12 else m.group()

    return _DIGIT_RUN.sub(mask, text[:40])


def _amount_refused(reason: str, en: str, zh: str) -> NoReturn:
    raise Refused("input.amount", en, zh, reason=reason)


def _pan_refused(reason: str, en: str, zh: str, masked: str, **more: Any) -> NoReturn:
    raise Refused("input.pan", en, zh, reason=reason, pan=masked, **more)


def _pin_refused(reason: str, en: str, zh: str, **more: Any) -> NoReturn:
    raise Refused("input.pin", en, zh, reason=reason, **more)


def _expiry_refused(reason: str, en: str, zh: str, yymm: str) -> NoReturn:
    raise Refused("input.expiry", en, zh, reason=reason, expiry=_shown(yymm))


def _original_refused(reason: str, en: str, zh: str, **more: Any) -> NoReturn:
    raise Refused("input.original", en, zh, reason=reason, **more)

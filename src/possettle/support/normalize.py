"""Screen text as people type it or OCR reads it, brought to one form to compare and to show.

Two forms:

* :func:`display` what the desk says it read: Unicode NFKC (full-width letters, digits and
  punctuation to half-width), traditional Chinese to simplified (OpenCC ``t2s``), runs of
  spaces and line breaks as one space::

    >>> display("ＢＡＴＣＨ　ＦＵＬＬ\\n沖正不成功")
    'BATCH FULL 冲正不成功'

* :func:`fold` the key the matcher compares: the display form case-folded, with the look-alike
  characters OCR and typists mix up made one, and everything that is not a letter, a digit or a
  Chinese character dropped (spaces, punctuation, the "/" between screen lines)::

    >>> fold("上次批上送中断 / 将继续批上送") == fold("上次批上送中断，将继续批上送!!")
    True
    >>> fold("BATCH CLOSE FAILED") == fold("batch cl0se fai1ed")
    True

  Latin letters and digits OCR confuses (0/O, 1/l/I, 5/S, 8/B) fold to one letter each, on
  both sides of a comparison, so "C0MM ERR0R" and "COMM ERROR" are the same key. Chinese
  look-alikes: 已/己/巳 (OCR reads 已 as 己 in 已停用, 已满), 未/末 (未结算, 未登记), 候/侯
  (请稍候; some terminals' own strings say 请稍侯), 拨/拔 (拨号), 日/曰 (日切), and the two
  spellings of 账/帐 (对帐 and 对账 are both in use).

:func:`find_codes` picks response codes out of a text ("错误码:[A0]", "(94)", "RC=51"), never a
time, an amount or a terminal id.

OpenCC is imported when first needed, not with this module (``possettle --help`` stays fast).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Protocol

# Chinese characters OCR or typists put for another; each folds to the one terminals show.
_CJK_ALIKE = str.maketrans(
    {"己": "已", "巳": "已", "末": "未", "侯": "候", "拔": "拨", "曰": "日", "帐": "账"}
)
# Latin letters and digits OCR mixes up, folded to one letter (matching only, never shown).
_LATIN_ALIKE = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s", "8": "b"})
_SPACES = re.compile(r"\s+")
# What a key keeps: ASCII letters and digits, and CJK ideographs.
_NOT_KEPT = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


@cache
def _t2s() -> _Converter:
    import opencc  # heavy: only the support desk needs it

    converter: _Converter = opencc.OpenCC("t2s.json")
    return converter


def simplified(text: str) -> str:
    """Traditional Chinese characters as simplified ones (OpenCC ``t2s``).

    >>> simplified("前次批上送未完成繼續上送，請按鍵")
    '前次批上送未完成继续上送，请按键'
    """
    return _t2s().convert(text) if text and not text.isascii() else text


def display(text: str) -> str:
    """NFKC, simplified, one space for any run of spaces or line breaks."""
    return _SPACES.sub(" ", simplified(unicodedata.normalize("NFKC", text))).strip()


def fold(text: str) -> str:
    """The matching key of ``text`` (see the module's docstring)."""
    key = display(text).casefold().translate(_CJK_ALIKE)
    return _NOT_KEPT.sub("", key).translate(_LATIN_ALIKE)


def tokens(text: str) -> tuple[str, ...]:
    """The Latin words and numbers of ``text``, folded: short screen ids ("QD", "C001") must
    be a whole word to count."""
    words = re.findall(r"[0-9a-z|]+", display(text).casefold())
    return tuple(w.translate(_LATIN_ALIKE) for w in words)


# ----------------------------------------------------------------------------- codes in text

# A response code: two digits, or a letter and a digit (A0-A7). OCR reads 0 as O/Q/D, 1 as
# I/L, 5 as S, 8 as B, 2 as Z.
_AS_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "S": "5", "B": "8"})
_AS_DIGIT.update(str.maketrans({"Z": "2", "|": "1"}))
_CODE = re.compile(r"^(?:[0-9]{2}|A[0-9])$")
_C = r"([0-9A-Z|]{2})"
_OPEN, _CLOSE = r"[\[(【〔{]", r"[\])】〕}]"
_OPEN_OCR, _CLOSE_OCR = r"[\[(【〔{|ILT]", r"[\])】〕}|ILJ1]"
# The code ends where the word ends, and is not the start of a time or an amount (23:59, 51.00).
_END = r"(?![0-9A-Z|])(?![:.][0-9])"
_MARKERS = (
    r"错误代码|错误码|应答码|响应码|返回码|拒绝码|故障码|"
    r"(?<![A-Z])(?:RESPONSE|RESP\.?|ERROR|ERR|RET|REJECT)\s*CODE|(?<![A-Z])RC|(?<![A-Z])CODE"
)
_PATTERNS = (
    # 错误码:A0, 错误码：[A0], RC=51, 应答码51, Code 05, response code 91, ERROR CODE #96
    # (after a marker, a bracket OCR misread as I, L, T, | or 1, J is still a bracket)
    re.compile(
        rf"(?:{_MARKERS})\s*[:=#]?\s*(?:{_OPEN_OCR}{{1,2}}\s*)?{_C}(?:\s*{_CLOSE_OCR}{{1,2}})?{_END}"
    ),
    # [96], (94), 【A0】, as terminals print a code before or after their message (OCR often
    # reads a bracket's edge as "|" too: "[AO|]")
    re.compile(rf"{_OPEN}\s*\|?\s*{_C}\s*\|?\s*{_CLOSE}"),
    # 03-无效商户请联系客服 (a code, a dash and the message: the answer-code tables' form)
    re.compile(rf"(?:^|\s){_C}\s*-\s*(?=[\u4e00-\u9fff])"),
)


def _code(found: str) -> str | None:
    """``found`` as a response code, OCR slips fixed; None when it is not one.

    >>> _code("AO"), _code("9S"), _code("ID")
    ('A0', '95', None)
    """
    first, second = found[0], found[1]
    first = first if first == "A" else first.translate(_AS_DIGIT)
    code = first + second.translate(_AS_DIGIT)
    # A slip is fixed only next to a real digit (or after A): "(ID)" is not code 10.
    if not any(c.isdigit() for c in found) and not (found[0] == "A" and found[1] in "OQD"):
        return None
    return code if _CODE.match(code) else None


def find_codes(text: str) -> tuple[str, ...]:
    """The response codes written in ``text``, in order, each once.

    >>> find_codes("交易失败 错误码：[A0] 2024-05-01 23:59 金额 51.00")
    ('A0',)
    >>> find_codes("RC=51"), find_codes("  94 "), find_codes("23:59"), find_codes("12345678")
    (('51',), ('94',), (), ())
    """
    shown = display(text).upper()
    # a code alone: "A0", "94"
    candidates = [(0, _code(shown))] if len(shown) == 2 else []
    for pattern in _PATTERNS:
        candidates += [(m.start(1), _code(m.group(1))) for m in pattern.finditer(shown)]
    found: list[str] = []
    for _, code in sorted(candidates, key=lambda c: c[0]):
        if code is not None and code not in found:
            found.append(code)
    return tuple(found)

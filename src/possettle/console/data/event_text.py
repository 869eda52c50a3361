"""A host event, a bad frame or a console action as one readable sentence in English and Chinese.

The host keeps each event's detail as JSON (``ledger.terminal_state.record_event``: a sign-on's
software version, a refusal's minimum version, a late reply's RRN …); support staff should
read what happened, not ``{"version": "010200"}``. Each kind the host writes has a sentence
here; a kind it does not know yet is shown as ``key: value`` pairs, never as raw JSON.

>>> event_text("signon", None, '{"version": "010200"}')
{'en': 'signed on with software 1.2.0', 'zh': '签到成功，软件版本 1.2.0'}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from possettle.console.display import version
from possettle.iso8583.codes import describe

Bilingual = dict[str, str]


def _pair(en: str, zh: str) -> Bilingual:
    return {"en": en, "zh": zh}


def _code(code: str | None) -> Bilingual:
    if not code:
        return _pair("", "")
    meaning = describe(code)
    return _pair(f"{code} {meaning.en}", f"{code} {meaning.zh}")


def _signon(d: dict[str, Any], code: str | None) -> Bilingual:
    v = version(str(d.get("version", ""))) or "?"
    return _pair(f"signed on with software {v}", f"签到成功，软件版本 {v}")


def _signoff(d: dict[str, Any], code: str | None) -> Bilingual:
    return _pair("signed off", "已签退")


def _refused(d: dict[str, Any], code: str | None) -> Bilingual:
    if "min_version" in d:
        have, need = version(str(d.get("version", ""))), version(str(d["min_version"]))
        return _pair(
            f"sign-on refused: software {have} is below the acquirer's minimum {need}",
            f"签到被拒：软件版本 {have} 低于收单机构要求的最低版本 {need}",
        )
    c = _code(code)
    return _pair(f"refused: {c['en']}", f"被拒：{c['zh']}")


def _report_refused(d: dict[str, Any], code: str | None) -> Bilingual:
    problems = "; ".join(str(p) for p in d.get("report", []) or [])
    return _pair(
        f"status report refused as malformed ({problems})",
        f"状态报告格式不符，未保存（{problems}）",
    )


def _offline_refused(d: dict[str, Any], code: str | None) -> Bilingual:
    c, stan = _code(code), d.get("stan", "?")
    return _pair(
        f"offline sale STAN {stan} refused by the issuer: {c['en']}",
        f"离线消费（流水号 {stan}）被发卡行拒绝：{c['zh']}",
    )


def _late_reply(d: dict[str, Any], code: str | None) -> Bilingual:
    mti, rrn, c = d.get("mti", "?"), d.get("rrn", "?"), _code(code or d.get("code"))
    return _pair(
        f"the issuer's reply {mti} came after its timeout (RRN {rrn}): {c['en']}",
        f"发卡行应答 {mti} 超时后才到达（参考号 {rrn}）：{c['zh']}",
    )


def _mac_error(d: dict[str, Any], code: str | None) -> Bilingual:
    mti, stan = d.get("mti", "?"), d.get("stan", "?")
    return _pair(
        f"message {mti} STAN {stan} failed its MAC check (working keys out of step)",
        f"报文 {mti}（流水号 {stan}）MAC 校验失败（工作密钥不一致）",
    )


def _format_error(d: dict[str, Any], code: str | None) -> Bilingual:
    why = str(d.get("error", "")).strip()
    return _pair(
        f"a message that could not be decoded was refused ({why})",
        f"收到无法解码的报文，已拒绝（{why}）",
    )


def _settle_repeated(d: dict[str, Any], code: str | None) -> Bilingual:
    batch, stan = d.get("batch", "?"), d.get("stan", "?")
    return _pair(
        f"settlement of batch {batch} sent again (STAN {stan}): the try before got no answer "
        f"(lost on the line, or the terminal restarted); the host answered again",
        f"批次 {batch} 的结算请求再次发送（流水号 {stan}）："
        f"上一次未收到应答（线路丢失或终端重启），主机已再次应答",
    )


_KINDS: dict[str, Callable[[dict[str, Any], str | None], Bilingual]] = {
    "settle_repeated": _settle_repeated,
    "signon": _signon,
    "signoff": _signoff,
    "refused": _refused,
    "version": _refused,
    "report_refused": _report_refused,
    "offline_refused_by_issuer": _offline_refused,
    "upstream_late_reply": _late_reply,
    "mac_error": _mac_error,
    "format_error": _format_error,
}

# console actions (audit log), by action
_ACTIONS: dict[str, Bilingual] = {
    "terminal.doctor": _pair("ran the host-side doctor", "执行了主机侧诊断"),
    "terminal.signon": _pair("asked the terminal to sign on again", "要求终端重新签到"),
    "terminal.disable": _pair("disabled the terminal", "停用了终端"),
    "terminal.enable": _pair("enabled the terminal", "启用了终端"),
    "alert.acknowledge": _pair("acknowledged an alert", "确认了告警"),
    "alert.resolve": _pair("resolved an alert", "解决了告警"),
    "user.add": _pair("added a console user", "添加了控制台用户"),
}


def _parse(detail: str | None) -> dict[str, Any] | None:
    try:
        data = json.loads(detail or "{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _pairs(data: dict[str, Any]) -> str:
    flat = (f"{k}: {v}" for k, v in data.items() if not isinstance(v, dict | list))
    return ", ".join(flat)[:200]


def event_text(kind: str, code: str | None, detail: str | None) -> Bilingual:
    """One host event or bad frame (its kind, response code and JSON detail) in words."""
    data = _parse(detail)
    if data is None:
        text = (detail or "")[:200]
        return _pair(text, text)
    known = _KINDS.get(kind)
    if known is not None:
        return known(data, code)
    c, rest = _code(code), _pairs(data)
    return _pair(
        " · ".join(x for x in (c["en"], rest) if x), " · ".join(x for x in (c["zh"], rest) if x)
    )


def action_text(action: str, actor: str | None, detail: str | None) -> Bilingual:
    """A console action from the audit log: who did what, with what the doctor found or the
    note left on an alert."""
    data = _parse(detail) or {}
    done = _ACTIONS.get(action, _pair(action, action))
    who = actor or "?"
    tail = _pair("", "")
    if action == "terminal.doctor":
        causes = ", ".join(str(c) for c in data.get("causes") or [])
        tail = (
            _pair(f": found {causes}", f"：发现 {causes}")
            if causes
            else _pair(": nothing found", "：未发现问题")
        )
    elif data.get("note"):
        note = str(data["note"])[:200]
        tail = _pair(f" (note: {note})", f"（备注：{note}）")
    return _pair(f"{who} {done['en']}{tail['en']}", f"{who} {done['zh']}{tail['zh']}")

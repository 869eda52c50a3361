"""How ``possettle support`` shows a step of the interview to people (Rich).

Every sentence comes from the result (the engine's data and the doctor's catalog); this module
only lays it out, in Chinese, English or both (Chinese first, as the merchant reads it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from possettle.support.result import Question, RankedCause, Read, Result

#: how many causes a step shows
TOP = 3
#: the answer id every question has: "I don't know" (it carries no evidence)
UNKNOWN = "unknown"

_LABELS = {
    "causes": ("Most likely causes", "最可能的原因"),
    "evidence": ("because", "依据"),
    "read": ("Read", "识别到"),
    "source.screen": ("screen", "屏幕"),
    "source.code": ("code", "错误码"),
    "source.photo": ("photo", "照片"),
    "nothing_matched": ("nothing recognised", "未识别"),
    "answered": ("Answered", "已回答"),
    "question": ("Next question", "下一个问题"),
    "dont_know": ("I don't know", "不知道"),
    "answer": ("Cause", "原因"),
    "do": ("What to do", "怎么做"),
    "avoid": ("What NOT to do", "不要做"),
    "escalation": ("If it is not solved, give the acquirer", "如果还没解决，请向收单机构提供"),
    "notes": ("Notes", "说明"),
    "unknown_cause": ("No cause stands out yet", "暂时无法确定原因"),
    "stop.confident": ("The top cause is likely enough.", "最可能的原因已经足够确定。"),
    "stop.no_question_helps": (
        "No further question would tell more.",
        "再问也无法进一步确定。",
    ),
}


def pick(en: str, zh: str, lang: str) -> str:
    """One sentence in the language asked for; both: Chinese, then English on its own line."""
    if lang == "en":
        return en
    if lang == "zh":
        return zh
    return zh if en == zh else f"{zh}\n{en}"


def one_line(en: str, zh: str, lang: str) -> str:
    """A short phrase in the language asked for; both: "中文 / English" on one line."""
    return f"{zh} / {en}" if lang == "both" and en != zh else pick(en, zh, lang)


def label(key: str, lang: str) -> str:
    en, zh = _LABELS[key]
    return one_line(en, zh, lang)


def cause_name(cause_id: str, lang: str) -> str:
    """The cause as the doctor's catalog says what happened, with its id."""
    from possettle.doctor.catalog import cause

    try:
        what = cause(cause_id).what
    except KeyError:
        return cause_id
    return f"{pick(what.en, what.zh, lang)} ({cause_id})"


def causes_table(causes: Iterable[RankedCause], lang: str, *, top: int = TOP) -> Table:
    table = Table(title=label("causes", lang), show_lines=True, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column(label("answer", lang), overflow="fold")
    table.add_column("%", justify="right")
    table.add_column(label("evidence", lang), overflow="fold")
    for n, c in enumerate(list(causes)[:top], 1):
        evidence = "\n".join(f"• {pick(e.en, e.zh, lang)}" for e in c.evidence) or "—"
        table.add_row(
            Text(str(n)),
            Text(cause_name(c.cause, lang)),
            Text(f"{c.score * 100:.0f}"),
            Text(evidence),
        )
    return table


def question_lines(q: Question, lang: str) -> tuple[Text, list[tuple[str, str]]]:
    """The question and its numbered answers: 1…n, then 0 = "I don't know"."""
    choices = [(a.id, one_line(a.en, a.zh, lang)) for a in q.answers if a.id != UNKNOWN]
    numbered = [(str(n), aid) for n, (aid, _) in enumerate(choices, 1)]
    numbered.append(("0", UNKNOWN))
    lines = [pick(q.en, q.zh, lang)]
    lines += [f"  {n}. {words}" for n, (_, words) in enumerate(choices, 1)]
    lines.append(f"  0. {label('dont_know', lang)}")
    return Text("\n".join(lines)), numbered


def _value(value: Any, lang: str) -> str:
    if isinstance(value, dict) and {"en", "zh"} <= set(value):
        return one_line(str(value["en"]), str(value["zh"]), lang)
    if isinstance(value, list | tuple):
        return "\n".join(_value(v, lang) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v, lang)}" for k, v in value.items())
    return str(value)


def escalation(package: dict[str, Any], lang: str) -> list[RenderableType]:
    """The package for the acquirer: its opening sentence, what the data already knows (a
    table), what to collect (a list), and any other entry as it is."""
    parts: list[RenderableType] = []
    intro = (
        pick(str(package["en"]), str(package["zh"]), lang)
        if {"en", "zh"} <= set(package)
        else label("escalation", lang)
    )
    parts.append(Text(intro, style="bold"))
    table = Table(show_header=False)
    table.add_column(overflow="fold")
    table.add_column(overflow="fold")
    for item in (package.get("known") or {}).values():
        if isinstance(item, dict) and {"en", "zh", "value"} <= set(item):
            words = one_line(str(item["en"]), str(item["zh"]), lang)
            table.add_row(Text(words), Text(_value(item["value"], lang)))
    details = package.get("details")
    rest = {k: v for k, v in package.items() if k not in ("en", "zh", "known", "collect")}
    if isinstance(details, dict):  # the rest of our data's package, a row each
        rest = {k: v for k, v in rest.items() if k != "details"} | details
    for key, value in rest.items():
        if value in (None, "", [], {}):
            continue
        table.add_row(Text(str(key)), Text(_value(value, lang)))
    if table.row_count:
        parts.append(table)
    collect = [
        one_line(str(c.get("en", "")), str(c.get("zh", "")), lang)
        for c in package.get("collect") or []
        if isinstance(c, dict)
    ]
    if collect:
        parts.append(Text("\n".join(f"• {c}" for c in collect)))
    return parts


def read_line(r: Read, lang: str) -> Text:
    """What was read from one input and what was recognised in it."""
    matched = ", ".join(r.matched) or label("nothing_matched", lang)
    source = label(f"source.{r.source}", lang)
    return Text(f"{label('read', lang)} ({source}): {r.text} → {matched}")


def step(result: Result, lang: str) -> RenderableType:
    """One step: what was read and answered, the ranking, then the next question or the end."""
    parts: list[RenderableType] = []
    parts += [read_line(r, lang) for r in result.read]
    for a in result.answered:
        # the engine's words say who answered ("you said …", "the terminal's own data says …")
        words = one_line(a.text.en, a.text.zh, lang)
        parts.append(Text(f"{label('answered', lang)} {a.question}: {words}"))
    for n in result.notes:
        parts.append(Text(pick(n.en, n.zh, lang)))
    if result.causes:
        parts.append(causes_table(result.causes, lang))
    else:
        parts.append(Text(label("unknown_cause", lang)))
    if result.next_question is not None and result.stop == "asking":
        text, _ = question_lines(result.next_question, lang)
        parts.append(Text(label("question", lang) + f" ({result.next_question.id}):"))
        parts.append(text)
    else:
        parts.append(final(result, lang))
    return Group(*parts)


def final(result: Result, lang: str) -> RenderableType:
    """The answer: the cause, what to do, what not to do, the escalation package."""
    parts: list[RenderableType] = []
    if result.stop in ("confident", "no_question_helps"):
        parts.append(Text(label(f"stop.{result.stop}", lang)))
    if result.causes:
        top = result.causes[0]
        parts.append(Text(f"{label('answer', lang)}: {cause_name(top.cause, lang)}", style="bold"))
        parts.append(Text(f"{label('do', lang)}:\n{pick(top.remedy.en, top.remedy.zh, lang)}"))
        if top.avoid.en or top.avoid.zh:
            parts.append(Text(f"{label('avoid', lang)}:\n{pick(top.avoid.en, top.avoid.zh, lang)}"))
    else:
        parts.append(Text(label("unknown_cause", lang), style="bold"))
    if result.escalation:
        parts += escalation(result.escalation, lang)
    return Group(*parts)

"""``possettle support``: the interview at the terminal, with Rich prompts.

First what the screen says (text, or the path of a photo of it) and the response code, then,
until the desk is confident or no question would tell more: the ranking with its evidence and
the question that is expected to tell the most, answered by number (0: "I don't know"). Then
the answer: the cause, what to do, what not to do, and what to give the acquirer.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.prompt import Prompt
from rich.rule import Rule

from possettle.cli.support_case import IMAGE_MAGIC, MAX_PHOTO_BYTES
from possettle.cli.support_show import (
    causes_table,
    final,
    label,
    pick,
    question_lines,
    read_line,
)
from possettle.support.case import Case
from possettle.support.result import Result

_ASK = {
    "screen": (
        "What does the terminal's screen say? Type the text, or the path of a photo of the "
        "screen (Enter to skip)",
        "POS机屏幕上显示什么？请输入文字，或者屏幕照片的文件路径（直接回车跳过）",
    ),
    "code": (
        "Is there an error code on the screen or the slip (e.g. A0, 94)? Enter if none",
        "屏幕或签购单上有错误码吗（例如 A0、94）？没有就直接回车",
    ),
    "choose": ("Your answer (number)", "请输入答案的编号"),
    "not_image": (
        "That file is not an image of the screen; type the text instead, or another file.",
        "这个文件不是屏幕照片，请输入屏幕上的文字，或者换一个文件。",
    ),
    "photo": ("Photo", "照片"),
}


def _ask(key: str, lang: str) -> str:
    en, zh = _ASK[key]
    return pick(en, zh, lang)


def _photo(text: str) -> bytes | bool | None:
    """The bytes of an image file the merchant named, None for text, False for a file that
    is not an image (asked again)."""
    if len(text) > 1024 or "\n" in text:
        return None
    path = Path(text).expanduser()
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_PHOTO_BYTES:
            return False
        data = path.read_bytes()
    except OSError:
        return None
    return data if data.startswith(IMAGE_MAGIC) else False


def opening(case: Case, lang: str, console: Console) -> Case:
    """Ask for what the options did not give: the screen (or a photo of it), then the code."""
    if case.screen is None and case.photo is None:
        while True:
            said = Prompt.ask(_ask("screen", lang), default="", show_default=False,
                              console=console).strip()  # fmt: skip
            photo = _photo(said) if said else None
            if photo is False:
                console.print(_ask("not_image", lang))
                continue
            if isinstance(photo, bytes):
                console.print(f"{_ask('photo', lang)}: {said}")
                case = replace(case, photo=photo)
            elif said:
                case = replace(case, screen=said)
            break
    if case.code is None:
        code = Prompt.ask(_ask("code", lang), default="", show_default=False, console=console)
        code = code.strip().upper()
        if code and code.isascii() and code.isalnum() and len(code) <= 4:
            case = replace(case, code=code)
    return case


def interview(case: Case, lang: str, console: Console) -> Result:
    """Ask until the desk stops; the last result (its answer shown)."""
    from possettle.support.engine import diagnose

    case = opening(case, lang, console)
    asked: set[str] = set()
    while True:
        result = diagnose(case)
        console.print(Rule())
        for r in result.read:
            console.print(read_line(r, lang))
        for note in result.notes:
            console.print(pick(note.en, note.zh, lang), markup=False, highlight=False)

        if result.causes:
            console.print(causes_table(result.causes, lang))
        q = result.next_question
        # a question asked once is not asked again, whatever the engine says (no endless loop)
        if result.stop != "asking" or q is None or q.id in asked:
            break
        asked.add(q.id)
        text, numbered = question_lines(q, lang)
        console.print(f"{label('question', lang)} ({q.id}):", style="bold")
        console.print(text, markup=False, highlight=False)
        chosen = Prompt.ask(_ask("choose", lang), choices=[n for n, _ in numbered], console=console)
        answer = dict(numbered)[chosen]
        case = replace(case, answers={**case.answers, q.id: answer})
    console.print(Rule())
    console.print(final(result, lang))
    return result

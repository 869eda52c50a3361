"""A small stand-in for the support engine and OCR, so the Support desk's pages, API and
tickets are tested on their own (the engine and the OCR have their own tests in tests/support/).

The fake ranks four causes from what the case says — a screen that mentions a reversal, a
code, the answers — and asks ``slip_printed`` then ``others_work`` until the top cause reaches
0.8. Its OCR reads photos made by :func:`photo` (``FAKEIMG`` and the text); any other bytes are
"not an image".
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from possettle.catalogs import Text
from possettle.clock import Clock
from possettle.console.desk import Desk, Named
from possettle.support.case import Case
from possettle.support.errors import PhotoError
from possettle.support.result import Answered, Choice, Question, RankedCause, Read, Result, Said
from tests.tools import missing_tool

QUESTIONS = (
    Question("slip_printed", "Did a settlement slip print?", "结算单打出来了吗？", (
        Choice("balanced", "Yes, balanced", "打出来了，对账平"),
        Choice("no", "No slip came out", "没有打出结算单"),
    )),
    Question("others_work", "Do other terminals work?", "其他POS机能用吗？", (
        Choice("yes", "Yes", "能用"),
        Choice("no", "No", "也不能用"),
    )),
)  # fmt: skip
GROUPS = {"reversal.abandoned": "software", "network.unstable": "software",
          "printer.paper_out": "hardware", "keys.out_of_sync": "software"}  # fmt: skip


@dataclass(frozen=True)
class Acquirer:
    id: str
    en: str
    zh: str


ACQUIRERS = (
    Acquirer("cup", "A bank (standard CUP codes)", "银行（银联标准）"),
    Acquirer("lakala", "Lakala", "拉卡拉"),
    Acquirer("other", "Other", "其他"),
)


FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


def screen_photo(text: str) -> bytes:
    """A real photo of a terminal's screen as a phone sees it, for the real OCR: dark text
    (one line per space-separated part) on a light grey panel, rotated a degree and blurred,
    as JPEG bytes. Skips (or fails in CI) without a CJK font or Tesseract."""
    import io

    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    font_file = next((f for f in FONTS if Path(f).exists()), None)
    if font_file is None or shutil.which("tesseract") is None:
        missing_tool("a screen photo needs a CJK font (fonts-wqy-zenhei) and tesseract-ocr")
    font = ImageFont.truetype(font_file, 44)
    lines = text.split()
    image = Image.new("RGB", (760, 120 + 90 * len(lines)), (226, 232, 222))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((60, 60 + i * 90), line, font=font, fill=(28, 30, 34))
    image = image.rotate(1, expand=True, fillcolor=(226, 232, 222))
    out = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(0.6)).save(out, "JPEG", quality=88)
    return out.getvalue()


def photo(text: str) -> bytes:
    """The bytes of a "photo" the fake OCR reads as ``text``."""
    return b"FAKEIMG" + text.encode()


@dataclass
class FakeEngine:
    cases: list[Case] = field(default_factory=list)

    def diagnose(self, case: Case, clock: Clock) -> Result:
        self.cases.append(case)
        weight = {cause: 1.0 for cause in GROUPS}
        screen = case.screen or ""
        if "冲正" in screen:
            weight["reversal.abandoned"] *= 6
        if case.code == "A0":
            weight["keys.out_of_sync"] *= 8
        answers = case.answers
        if answers.get("slip_printed") == "balanced":
            weight["printer.paper_out"] *= 60
        elif answers.get("slip_printed") == "no":
            weight["printer.paper_out"] *= 0.1
        if answers.get("others_work") == "no":
            weight["network.unstable"] *= 30
        total = sum(weight.values())
        ranked = sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))
        causes = tuple(
            RankedCause(cause, GROUPS[cause], w / total,
                        (Said(f"fake.{cause}", f"because {cause}", f"因为 {cause}"),),
                        Text(f"fix {cause}", f"处理 {cause}"),
                        Text(f"do not {cause}", f"切勿 {cause}"))
            for cause, w in ranked
        )  # fmt: skip
        pending = [q for q in QUESTIONS if q.id not in answers]
        confident = causes[0].score >= 0.8
        nxt = None if confident or not pending else pending[0]
        stop = "confident" if confident else ("asking" if nxt else "no_question_helps")
        read = (
            (Read("screen", screen, ("reversal_failed",) if "冲正" in screen else ()),)
            if screen
            else ()
        )
        said = tuple(
            Answered(q, a, "you", Text(f"you said {a}", f"您说 {a}")) for q, a in answers.items()
        )
        known = (
            {"tid": {"value": case.tid, "en": "Terminal ID", "zh": "终端号"}} if case.tid else {}
        )
        escalation = {
            "en": "Give the acquirer:",
            "zh": "请向收单机构提供：",
            "known": known,
            "collect": [{"id": "batch", "en": "the batch number", "zh": "批次号"},
                        {"id": "photo", "en": "a photo of the screen", "zh": "屏幕照片"}],
            "codes": [case.code] if case.code else [],
            "screen": case.screen,
            "acquirer": None,
        }  # fmt: skip
        return Result(causes, nxt, read, said, escalation, stop)


def photo_text(data: bytes) -> str:
    if not data.startswith(b"FAKEIMG"):
        raise PhotoError("not an image")
    return data[len(b"FAKEIMG") :].decode()


def acquirers() -> Sequence[Named]:
    return ACQUIRERS


def questions() -> Sequence[Question]:
    return QUESTIONS


def fake_desk(engine: FakeEngine, *, real_ocr: bool = False) -> Desk:
    """The fake engine, with the fake OCR or (``real_ocr``) the reading branch's Tesseract."""
    return Desk(engine.diagnose, Desk.real().photo_text if real_ocr else photo_text,
                acquirers, questions)  # fmt: skip

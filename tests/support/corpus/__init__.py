"""The support desk's case corpus: load it, check it, and run a case through the interview.

``tuning.toml`` (about two thirds) may be used to tune the likelihoods of
``src/possettle/support/data``; ``holdout.toml`` never is. The format is described at the top
of ``tuning.toml``; how the cases were written is in docs/support-accuracy.md.

:func:`load` checks every case against the data (question ids and their answer ids, acquirer
ids, cause ids) and raises :class:`CorpusError` naming the file and the case.
:func:`interview` answers the desk's questions from a case's ``truth`` the way the merchant
would, one :func:`possettle.support.engine.diagnose` step at a time. Used by
tests/support/test_corpus.py and bench/support.py.
"""

from __future__ import annotations

import contextlib
import functools
import io
import random
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from possettle.support.case import Case
from possettle.support.result import Result

HERE = Path(__file__).resolve().parent
SETS = ("tuning", "holdout")
UNKNOWN = "unknown"
MAX_QUESTIONS = 12
CONFIDENT = 0.8

_CASE_KEYS = frozenset(
    {"id", "source", "screen", "code", "acquirer", "model", "photo", "expect", "truth"}
)
_PHOTO_KEYS = frozenset({"lines", "rotate", "noise", "blur", "contrast"})
_CONTRASTS = ("normal", "low")


class CorpusError(Exception):
    """A case the corpus cannot use: names the file and the case id."""


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo of the screen to render: text lines, rotated, with noise, blur, low contrast."""

    lines: tuple[str, ...]
    rotate: float = 0.0
    noise: bool = False
    blur: bool = False
    contrast: str = "normal"


@dataclass(frozen=True, slots=True)
class CorpusCase:
    id: str
    set: str
    source: str
    expect: str
    truth: Mapping[str, str]
    screen: str | None = None
    code: str | None = None
    acquirer: str | None = None
    model: str | None = None
    photo: Photo | None = None

    def answer(self, question: str) -> str:
        """What the merchant answers to ``question`` ("unknown" when they would not know)."""
        if question == "acquirer" and question not in self.truth and self.acquirer:
            return self.acquirer
        return self.truth.get(question, UNKNOWN)

    def reported(self, answers: Mapping[str, str], photo: bytes | None = None) -> Case:
        """The case as the desk sees it: what was reported up front plus the answers so far."""
        return Case(
            screen=self.screen,
            code=self.code,
            acquirer=self.acquirer,
            model=self.model,
            photo=photo,
            answers=dict(answers),
        )


@dataclass(frozen=True, slots=True)
class Ids:
    """The ids a case may use: question id → its answer ids, acquirer ids, cause ids."""

    questions: Mapping[str, frozenset[str]]
    acquirers: frozenset[str]
    causes: frozenset[str]


def known_ids() -> Ids:
    """The ids of the data: the desk's questions and their answers, the acquirers, the causes."""
    from possettle.doctor.catalog import BY_ID
    from possettle.support.acquirers import all_acquirers
    from possettle.support.questions import all_questions

    questions = {q.id: frozenset({a.id for a in q.answers} | {UNKNOWN}) for q in all_questions()}
    return Ids(questions, frozenset(a.id for a in all_acquirers()), frozenset(BY_ID))


def load(name: str, ids: Ids | None = None) -> tuple[CorpusCase, ...]:
    """The cases of one set (``tuning`` or ``holdout``), checked against the data."""
    if name not in SETS:
        raise CorpusError(f"no corpus set {name!r}; the sets are {', '.join(SETS)}")
    return load_file(HERE / f"{name}.toml", name, ids or known_ids())


def load_all(ids: Ids | None = None) -> dict[str, tuple[CorpusCase, ...]]:
    """Both sets; a case id used twice, even across the two files, is an error."""
    ids = ids or known_ids()
    sets = {name: load(name, ids) for name in SETS}
    seen: dict[str, str] = {}
    for name, cases in sets.items():
        for c in cases:
            if c.id in seen:
                raise CorpusError(f"{name}.toml: case {c.id!r} is also in {seen[c.id]}.toml")
            seen[c.id] = name
    return sets


def load_file(path: Path, name: str, ids: Ids) -> tuple[CorpusCase, ...]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CorpusError(f"{path.name}: cannot read the corpus: {e}") from e
    raw = data.get("case")
    if not isinstance(raw, list) or not raw:
        raise CorpusError(f"{path.name}: no [[case]] tables")
    cases: list[CorpusCase] = []
    seen: set[str] = set()
    for n, entry in enumerate(raw, 1):
        case = _case(path.name, name, n, entry, ids)
        if case.id in seen:
            raise CorpusError(f"{path.name}: case {case.id!r} appears twice")
        seen.add(case.id)
        cases.append(case)
    return tuple(cases)


def _case(file: str, name: str, n: int, entry: Any, ids: Ids) -> CorpusCase:
    if not isinstance(entry, dict):
        raise CorpusError(f"{file}: case number {n} is not a table")
    cid = entry.get("id")
    if not isinstance(cid, str) or not cid:
        raise CorpusError(f"{file}: case number {n} has no id")

    def bad(what: str) -> CorpusError:
        return CorpusError(f"{file}: case {cid!r}: {what}")

    unknown_keys = sorted(set(entry) - _CASE_KEYS)
    if unknown_keys:
        known = ", ".join(sorted(_CASE_KEYS))
        raise bad(f"unknown key(s) {', '.join(unknown_keys)} (known: {known})")
    for key in ("source", "expect"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise bad(f"{key} is missing")
    for key in ("screen", "code", "acquirer", "model"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            raise bad(f"{key} must be non-empty text")
    expect = entry["expect"]
    if expect not in ids.causes:
        raise bad(f"expect: unknown cause id {expect!r} (src/possettle/doctor/catalog.py)")
    acquirer = entry.get("acquirer")
    if acquirer is not None and acquirer not in ids.acquirers:
        known = ", ".join(sorted(ids.acquirers))
        raise bad(f"acquirer: unknown acquirer id {acquirer!r} (known: {known})")
    truth = entry.get("truth", {})
    if not isinstance(truth, dict):
        raise bad("truth must be a table of question id = answer id")
    for qid, aid in truth.items():
        if qid not in ids.questions:
            raise bad(f"truth: unknown question id {qid!r} (support/data/questions.toml)")
        if not isinstance(aid, str) or aid not in ids.questions[qid]:
            known = ", ".join(sorted(ids.questions[qid]))
            raise bad(f"truth: unknown answer id {aid!r} for question {qid!r} (known: {known})")
    if acquirer is not None and truth.get("acquirer", acquirer) != acquirer:
        raise bad(f"truth: acquirer {truth['acquirer']!r} differs from the reported {acquirer!r}")
    photo = _photo(entry.get("photo"), bad)
    if not (entry.get("screen") or entry.get("code") or photo or truth):
        raise bad("nothing reported: give a screen, a code, a photo or a truth")
    return CorpusCase(
        id=cid,
        set=name,
        source=entry["source"],
        expect=expect,
        truth=dict(truth),
        screen=entry.get("screen"),
        code=entry.get("code"),
        acquirer=acquirer,
        model=entry.get("model"),
        photo=photo,
    )


def _photo(spec: Any, bad: Callable[[str], CorpusError]) -> Photo | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise bad("photo must be a table (lines, rotate, noise, blur, contrast)")
    unknown_keys = sorted(set(spec) - _PHOTO_KEYS)
    if unknown_keys:
        raise bad(f"photo: unknown key(s) {', '.join(unknown_keys)}")
    lines = spec.get("lines")
    if not isinstance(lines, list) or not lines or not all(isinstance(x, str) for x in lines):
        raise bad("photo: lines must be a non-empty list of text lines")
    rotate = spec.get("rotate", 0)
    if not isinstance(rotate, int | float) or abs(rotate) > 15:
        raise bad("photo: rotate must be a number of degrees within ±15")
    contrast = spec.get("contrast", "normal")
    if contrast not in _CONTRASTS:
        raise bad(f"photo: contrast must be one of {', '.join(_CONTRASTS)}")
    for flag in ("noise", "blur"):
        if not isinstance(spec.get(flag, False), bool):
            raise bad(f"photo: {flag} must be true or false")
    return Photo(
        tuple(lines), float(rotate), spec.get("noise", False), spec.get("blur", False), contrast
    )


# ---------------------------------------------------------------- photos

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)


def cjk_font() -> Path | None:
    """A font with Chinese glyphs on this machine, or None."""
    return next((Path(p) for p in FONT_CANDIDATES if Path(p).is_file()), None)


def render(photo: Photo, *, seed: int) -> bytes:
    """A PNG of the screen's lines as a phone would photograph it (Pillow + a CJK font):
    dark text on a light LCD, rotated, with sensor noise, blur and low contrast as asked."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    font_path = cjk_font()
    if font_path is None:
        raise CorpusError("no CJK font to render photos (install fonts-wqy-zenhei)")
    font = ImageFont.truetype(str(font_path), 40)
    background, ink = (205, 215, 200), (25, 30, 25)
    if photo.contrast == "low":
        background, ink = (170, 178, 165), (85, 92, 85)
    width = max(int(font.getlength(line)) for line in photo.lines) + 120
    height = 60 * len(photo.lines) + 100
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(photo.lines):
        draw.text((60, 50 + 60 * i), line, font=font, fill=ink)
    if photo.rotate:
        image = image.rotate(photo.rotate, expand=True, fillcolor=background)
    if photo.noise:
        rng = random.Random(seed)
        pixels = image.load()
        assert pixels is not None
        for _ in range(image.width * image.height // 25):
            x, y = rng.randrange(image.width), rng.randrange(image.height)
            shade = rng.randrange(90, 240)
            pixels[x, y] = (shade, shade, shade)
    if photo.blur:
        image = image.filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# ---------------------------------------------------------------- the interview


@dataclass(slots=True)
class Outcome:
    """One case run through the interview."""

    case: CorpusCase
    ranking: tuple[str, ...]  # cause ids, most likely first, after the last step
    top_score: float
    asked: tuple[str, ...]  # question ids in the order asked
    #: questions asked before the top cause first reached CONFIDENT (all asked if never)
    to_confident: int
    stop: str
    step_seconds: list[float] = field(default_factory=list)
    read: tuple[str, ...] = ()  # what the desk read (screen, code, photo texts)
    group: str | None = None  # the expected cause's group, from the engine's answer

    @property
    def rank(self) -> int | None:
        """1-based position of the expected cause, None if not ranked at all."""
        try:
            return self.ranking.index(self.case.expect) + 1
        except ValueError:
            return None

    @property
    def top1(self) -> bool:
        return self.rank == 1

    @property
    def top3(self) -> bool:
        return self.rank is not None and self.rank <= 3


Diagnose = Callable[[Case], Result]


def interview(
    case: CorpusCase, diagnose: Diagnose, *, photo: bytes | None = None, limit: int = MAX_QUESTIONS
) -> Outcome:
    """Run the desk's interview, the merchant answering from ``case.truth``.

    Starts from what the case reports (screen, code, acquirer, model, the photo's bytes);
    each step answers ``next_question`` ("unknown" when the truth lacks it) until the desk
    stops asking, asks a question already answered, or ``limit`` questions were asked.

    A photo goes with every step, as a client that calls again with the answers so far sends
    it; Tesseract reads it once (the first step) and later steps reuse that reading.
    """
    if photo is not None:
        with _ocr_once():
            return _interview(case, diagnose, photo, limit)
    return _interview(case, diagnose, photo, limit)


@contextlib.contextmanager
def _ocr_once() -> Iterator[None]:
    from possettle.support import ocr

    original = ocr.photo_text
    ocr.photo_text = functools.cache(original)
    try:
        yield
    finally:
        ocr.photo_text = original


def _interview(case: CorpusCase, diagnose: Diagnose, photo: bytes | None, limit: int) -> Outcome:
    answers: dict[str, str] = {}
    asked: list[str] = []
    times: list[float] = []
    to_confident: int | None = None
    while True:
        started = time.perf_counter()
        result = diagnose(case.reported(answers, photo))
        times.append(time.perf_counter() - started)
        top = result.causes[0].score if result.causes else 0.0
        if to_confident is None and top >= CONFIDENT:
            to_confident = len(asked)
        question = result.next_question
        if result.stop != "asking" or question is None or question.id in answers:
            break
        if len(asked) >= limit:
            break
        answers[question.id] = case.answer(question.id)
        asked.append(question.id)
    group = next((c.group for c in result.causes if c.cause == case.expect), None)
    return Outcome(
        case=case,
        ranking=tuple(c.cause for c in result.causes),
        top_score=top,
        asked=tuple(asked),
        to_confident=len(asked) if to_confident is None else to_confident,
        stop=result.stop,
        step_seconds=times,
        read=tuple(r.text for r in result.read),
        group=group,
    )

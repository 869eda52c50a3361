"""Screen text as people report it → screen messages of ``data/screens.toml`` and codes
in it (used by :mod:`.engine`).

:func:`read_screen` takes what a merchant typed, or what OCR read off a photo, and finds the
screen messages in it, best first, each with a score from 0 to 1:

* a message whose whole text (or one whole screen line of it) is in the text scores 1;
* a part of a message ("冲正不成功" of "冲正不成功 / 请与客服联系") scores by how much of the
  message it is;
* anything else is a fuzzy match (rapidfuzz ``partial_ratio`` over the folded keys of
  :mod:`.normalize`: OCR slips, a wrong or missing character), scored below an exact one.

Matches below :data:`THRESHOLD` are dropped, and so is a match that lies inside the text a
better one already explains, better meaning more of the text, read more exactly
("批上送未完成" inside "前次批上送未完成继续上送，请按键").
Response codes come from :func:`.normalize.find_codes`.

>>> r = read_screen("沖正不成功，請與客服聯繫")
>>> r.text, r.screens[0].id, r.screens[0].score
('冲正不成功,请与客服联系', 'reversal_failed', 1.0)
>>> read_screen("错误码：［Ａ0］").codes
('A0',)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from possettle.catalogs import Text
from possettle.support import normalize
from possettle.support.screens import Screen, all_screens, not_a_cause


@dataclass(frozen=True, slots=True)
class ScreenMatch:
    """One screen message recognised in the text.

    ``factors`` are its Bayes factors over cause ids, on the scale of
    :data:`possettle.doctor.likelihoods.FACTORS`; ``meaning`` what the message means.
    """

    id: str
    score: float  # 0..1, how well the text matched
    shown: str  # the catalog's text as terminals show it, that matched
    meaning: Text
    factors: Mapping[str, float]
    code: str | None  # the response code the message stands for, if any


@dataclass(frozen=True, slots=True)
class Reading:
    text: str  # the text as read (normalised for display: NFKC, simplified)
    screens: tuple[ScreenMatch, ...]  # best first
    codes: tuple[str, ...]  # response codes found in the text ("A0", "94", "51")
    #: set when the text asks about something that is not a cause of 结算失败 (the economy)
    not_a_cause: Text | None = None


#: a match scores at least this, or it is not reported
THRESHOLD = 0.75
#: at most this many screen messages are reported
MOST = 5
# A whole screen line of a longer message ("冲正不成功" of "冲正不成功 / 请与客服联系"): nearly
# as good as the whole message. Lines shared by several messages ("请稍后重试") are not used.
_LINE = 0.95
# A fuzzy match never scores as high as an exact one.
_FUZZY = 0.95
# Keys shorter than this (in characters) match only exactly: a one-character slip in a short
# key is another message more often than a typo.
_SHORT_CJK, _SHORT_LATIN = 3, 5
_LATIN = re.compile(r"^[0-9a-z]+$")
# A code the terminal shows before its message ("[97] 终端未登记", "03-无效商户"): codes are
# read on their own (normalize.find_codes), the message is matched without it.
_CODE_PREFIX = re.compile(r"^\s*(?:\[[0-9A-Z]{2}\]|[0-9A-Z]{2}-)\s*")


def _key(shown: str) -> str:
    return normalize.fold(_CODE_PREFIX.sub("", shown))


@dataclass(frozen=True, slots=True)
class _Entry:
    screen: Screen
    shown: str  # the catalog text (or its line) as displayed
    key: str  # its folded form
    weight: float  # 1 for a whole message, _LINE for one line of it
    latin: bool


@dataclass(frozen=True, slots=True)
class _Hit:
    entry: _Entry
    score: float
    start: int  # the span of the text it explains
    end: int

    @property
    def explains(self) -> float:
        """How much of the text the match explains, and how well: of two matches of the same
        words, the longer message read with a slip beats a shorter one found whole inside it
        ("前次批上送未完成继续上送，时按键" is batch_upload_resume, not batch_upload_incomplete)."""
        return self.score * (self.end - self.start)


@cache
def _catalog() -> tuple[_Entry, ...]:
    """Every screen text and every distinctive line of one, folded once (at first use)."""
    entries: list[_Entry] = []
    lines: dict[str, set[str]] = {}
    line_of: dict[str, tuple[Screen, str]] = {}
    for s in all_screens():
        for shown in s.texts:
            key = _key(shown)
            entries.append(_Entry(s, shown, key, 1.0, bool(_LATIN.match(key))))
            parts = [p.strip() for p in shown.split("/")]
            if len(parts) < 2:
                continue
            for part in parts:
                part_key = _key(part)
                if len(part_key) >= _SHORT_CJK and part_key != key:
                    lines.setdefault(part_key, set()).add(s.id)
                    line_of[part_key] = (s, part)
    whole = {e.key for e in entries}
    for part_key, owners in lines.items():
        if len(owners) == 1 and part_key not in whole:
            s, part = line_of[part_key]
            entries.append(_Entry(s, part, part_key, _LINE, bool(_LATIN.match(part_key))))
    return tuple(entries)


def _score(entry: _Entry, text: str, words: tuple[str, ...]) -> _Hit | None:
    from rapidfuzz import fuzz  # heavy: only the support desk needs it

    key = entry.key
    short = len(key) < (_SHORT_LATIN if entry.latin else _SHORT_CJK)
    if short:  # "QD", "C001": a whole word of the text, or nothing
        if key in words:
            at = text.find(key)
            return _Hit(entry, entry.weight, max(at, 0), max(at, 0) + len(key))
        return None
    at = text.find(key)
    if at >= 0:
        return _Hit(entry, entry.weight, at, at + len(key))
    least = _SHORT_LATIN if entry.latin else _SHORT_CJK
    if len(text) >= least and text in key:  # a part of the message
        return _Hit(entry, entry.weight * (0.7 + 0.3 * len(text) / len(key)), 0, len(text))
    cutoff = 100 * THRESHOLD / (_FUZZY * entry.weight)
    if len(text) >= len(key):
        found = fuzz.partial_ratio_alignment(key, text, score_cutoff=cutoff)
        if found is None:
            return None
        score = _FUZZY * entry.weight * found.score / 100
        return _Hit(entry, score, found.dest_start, found.dest_end)
    if len(text) < least:
        return None
    # the text is shorter than the message: the message with a character missing, or a part
    # of it with slips
    coverage = 0.7 + 0.3 * len(text) / len(key)
    part = fuzz.partial_ratio(text, key) * coverage
    similar = max(fuzz.ratio(text, key), part) / 100
    if similar * _FUZZY * entry.weight < THRESHOLD:
        return None
    return _Hit(entry, _FUZZY * entry.weight * similar, 0, len(text))


def _covered(hit: _Hit, by: _Hit) -> bool:
    """Most of the text ``hit`` explains is explained by ``by`` already."""
    overlap = min(hit.end, by.end) - max(hit.start, by.start)
    return overlap > 0.6 * max(hit.end - hit.start, 1)


def _not_a_cause(shown: str) -> Text | None:
    rule = not_a_cause()
    text = shown.casefold()
    for place in rule.places:
        text = text.replace(place.casefold(), " ")
    return rule.say if any(w.casefold() in text for w in rule.words) else None


def read_screen(text: str) -> Reading:
    """The screen messages and response codes in ``text``, as people report it."""
    shown = normalize.display(text)
    key = normalize.fold(text)
    words = normalize.tokens(text)
    best: dict[str, _Hit] = {}
    if key:
        for entry in _catalog():
            hit = _score(entry, key, words)
            if hit is None or hit.score < THRESHOLD:
                continue
            held = best.get(entry.screen.id)
            if held is None or (hit.score, len(hit.entry.key)) > (held.score, len(held.entry.key)):
                best[entry.screen.id] = hit
    ranked = sorted(best.values(), key=lambda h: (-h.explains, -h.score, h.entry.screen.id))
    kept: list[_Hit] = []
    for hit in ranked:
        if not any(_covered(hit, k) and k.explains > hit.explains for k in kept):
            kept.append(hit)
    kept.sort(key=lambda h: (-h.score, -h.explains, h.entry.screen.id))
    matches = tuple(
        ScreenMatch(
            id=h.entry.screen.id,
            score=round(h.score, 3),
            shown=h.entry.shown,
            meaning=h.entry.screen.meaning,
            factors=h.entry.screen.factors,
            code=h.entry.screen.code,
        )
        for h in kept[:MOST]
    )
    return Reading(shown, matches, normalize.find_codes(text), _not_a_cause(shown))

"""Screen text as people report it → screen messages of ``data/screens.toml`` and codes
(owner: the reading branch; see BRIEF). Contract used by :mod:`.engine`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from possettle.catalogs import Text


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


def read_screen(text: str) -> Reading:
    raise NotImplementedError("the reading branch builds this")

"""Small stand-ins for the reading and CLI branches' parts, for the core's tests.

``read_screen`` recognises nothing but the codes it is told of, so a core test asserts what
the engine does with a reading, not what the matcher finds (the reading branch tests that).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from possettle.catalogs import Text
from possettle.support import match
from possettle.support.match import Reading, ScreenMatch


def fake_screens(
    monkeypatch: pytest.MonkeyPatch,
    screens: Mapping[str, ScreenMatch] | None = None,
    codes: Mapping[str, str] | None = None,
) -> None:
    """``read_screen(text)`` returns the screen matches and codes listed for that exact text."""
    screens, codes = screens or {}, codes or {}

    def read_screen(text: str) -> Reading:
        found = tuple(m for key, m in screens.items() if key in text)
        return Reading(text, found, tuple(c for key, c in codes.items() if key in text))

    monkeypatch.setattr(match, "read_screen", read_screen)


def screen(id: str, factors: Mapping[str, float], *, score: float = 1.0) -> ScreenMatch:
    return ScreenMatch(id, score, id, Text(id, id), dict(factors), None)

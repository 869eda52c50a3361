"""Outside tools some tests need (Chromium, promtool): skip with the reason, or fail in CI.

``scripts/dev.py test`` installs them where it can (Debian/Ubuntu, root). Where it cannot, the
tests that need them skip and say what is missing, unless ``POSSETTLE_REQUIRE_TOOLS=1`` (set by
``.ci/run``), which turns the skip into a failure: on the CI machine they must run.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ENV = "POSSETTLE_REQUIRE_TOOLS"


def missing_tool(why: str) -> NoReturn:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{why} ({REQUIRE_ENV}=1: this machine must have it)")
    pytest.skip(why)

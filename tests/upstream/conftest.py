from __future__ import annotations

import pytest

from possettle.clock import FixedClock
from tests.upstream.upstream_support import NOW, MakeRequest, request_factory


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def make_request() -> MakeRequest:
    return request_factory()

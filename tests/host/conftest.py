from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.host.harness import RunningHost, register, running_host


@pytest.fixture
async def host(db_url: str, tmp_path: Path) -> AsyncIterator[RunningHost]:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with running_host(db_url, key_file) as h:
        yield h

"""The golden PS-CUP/1 vectors, from the repo's own copy (a clone alone passes its tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_PATH = Path(__file__).with_name("vectors.json")
SHARED_PATH = Path(__file__).parents[3] / "shared" / "protocol" / "vectors.json"


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS_PATH.read_text())
    return data


def by_name() -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in load()["vectors"]}

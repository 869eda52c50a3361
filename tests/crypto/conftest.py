"""Shared fixtures: the golden vector corpus and its keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from possettle.crypto import Key

VECTORS_PATH = Path(__file__).parents[1] / "vectors" / "vectors.json"


def load_vectors() -> dict[str, Any]:
    with VECTORS_PATH.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


VECTORS = load_vectors()
VECTOR_KEYS: dict[str, str] = VECTORS["keys"]
TMK = Key.from_hex(VECTOR_KEYS["tmk"])
PIK = Key.from_hex(VECTOR_KEYS["pik"])
MAK = Key.from_hex(VECTOR_KEYS["mak"])
PIN: str = VECTOR_KEYS["pin"]
PAN: str = VECTOR_KEYS["pan"]


def vector(name: str) -> dict[str, Any]:
    for v in VECTORS["vectors"]:
        if v["name"] == name:
            return dict(v)
    raise LookupError(name)

"""The reading modules import rapidfuzz, OpenCC, Pillow and pytesseract when they first need
them, not when imported: ``possettle --help`` and every command that does not read a screen
stay fast (tests/cli/test_lazy.py pins the CLI's own imports)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("rapidfuzz", "opencc", "PIL", "pytesseract")


def _loaded_after(code: str) -> set[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(out)}


def test_importing_the_reading_modules_loads_none_of_the_heavy_libraries() -> None:
    loaded = _loaded_after(
        "import possettle.support.match, possettle.support.ocr, possettle.support.normalize"
    )
    assert loaded & set(HEAVY) == set()


def test_reading_a_screen_loads_the_matcher_and_opencc_but_not_the_ocr() -> None:
    loaded = _loaded_after(
        "from possettle.support.match import read_screen; read_screen('結算失敗')"
    )
    assert {"rapidfuzz", "opencc"} <= loaded
    assert loaded & {"PIL", "pytesseract"} == set()

"""Reading the support desk's data files (``support/data/*.toml``) with errors that name the
file, the table and the key (:class:`~possettle.support.errors.DataFileError`).

The files are small and hand-written; the checks here are explicit rather than a schema
library's so that each message says exactly which row of which file is wrong.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from possettle.support.errors import DataFileError


def load(name: str) -> dict[str, Any]:
    """The parsed TOML of ``support/data/<name>``."""
    text = (resources.files("possettle.support") / "data" / name).read_text("utf-8")
    return parse(name, text)


def parse(name: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(f"support/data/{name}: not valid TOML: {exc}") from exc


class Where:
    """One table of one file, to name in an error: ``support/data/x.toml [a.b] key: …``."""

    def __init__(self, name: str, table: str) -> None:
        self.name, self.table = name, table

    def error(self, key: str, problem: str) -> DataFileError:
        return DataFileError(f"support/data/{self.name} [{self.table}] {key}: {problem}")

    def table_of(self, row: Any) -> Mapping[str, Any]:
        if not isinstance(row, Mapping):
            raise DataFileError(f"support/data/{self.name} [{self.table}]: not a table")
        return row

    def text(self, row: Mapping[str, Any], key: str, *, required: bool = True) -> str:
        value = row.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "must be a non-empty string")
        return value

    def number(
        self, row: Mapping[str, Any], key: str, default: float, *, lo: float, hi: float
    ) -> float:
        value = row.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, not {value!r}")
        if not lo <= value <= hi:
            raise self.error(key, f"must be between {lo:g} and {hi:g}, not {value!r}")
        return float(value)

    def only(self, row: Mapping[str, Any], keys: set[str]) -> None:
        if unknown := sorted(set(row) - keys):
            raise self.error(unknown[0], "unknown key")

"""Reading a stored document back: typed access to its dict, errors that name the key.

A journal row written by an older or newer possettle, or damaged on disk, must fail with a
message that says which key is wrong rather than print a wrong slip; ``version`` lets the
form change later without guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from possettle.iso8583.fields import HalfTotals, SettleResult
from possettle.money import Money, MoneyError
from possettle.terminal.errors import TerminalError

FORMAT_VERSION = 1  # bump when the dict form changes; from_dict refuses what it does not know
_E = TypeVar("_E", bound=StrEnum)


class DocumentError(TerminalError, ValueError):
    """A document built from bad values, or a stored dict that does not describe one.

    Caller misuse (a bug in the terminal core or a damaged journal row); the message names
    the field and never repeats a card number.
    """


class DictReader:
    """Typed access to a stored dict; every failure names the key that was wrong."""

    def __init__(self, data: Mapping[str, Any], kind: str) -> None:
        self._data = data
        self._kind = kind
        if data.get("type") != kind:
            raise DocumentError(f"type {data.get('type')!r} is not {kind!r}")
        if data.get("version") != FORMAT_VERSION:
            raise DocumentError(f"{kind}: version {data.get('version')!r} is not supported")

    def _get(self, key: str, want: tuple[type, ...], within: str = "") -> Any:
        """``within`` names a nested dict (``domestic``) to read from instead of the top."""
        source = self._data[within] if within else self._data
        name = f"{within}.{key}" if within else key
        if key not in source:
            raise DocumentError(f"{self._kind}: {name} is missing")
        value = source[key]
        # bool is an int subclass; a stored true must not pass for a batch number
        if not isinstance(value, want) or (isinstance(value, bool) and bool not in want):
            raise DocumentError(f"{self._kind}: {name} has type {type(value).__name__}")
        return value

    def text(self, key: str) -> str:
        value: str = self._get(key, (str,))
        return value

    def opt_text(self, key: str) -> str | None:
        value: str | None = self._get(key, (str, type(None)))
        return value

    def absent_or_text(self, key: str) -> str | None:
        """A text key documents written before it existed do not have: missing means None."""
        return self.opt_text(key) if key in self._data else None

    def integer(self, key: str, within: str = "") -> int:
        value: int = self._get(key, (int,), within)
        return value

    def opt_integer(self, key: str) -> int | None:
        value: int | None = self._get(key, (int, type(None)))
        return value

    def flag(self, key: str) -> bool:
        value: bool = self._get(key, (bool,))
        return value

    def choice(self, key: str, enum: type[_E]) -> _E:
        try:
            return enum(self.text(key))
        except ValueError as exc:
            raise DocumentError(f"{self._kind}: {key} {self._data[key]!r} is unknown") from exc

    def when(self) -> datetime:
        try:
            return datetime.fromisoformat(self.text("when"))
        except ValueError as exc:
            raise DocumentError(f"{self._kind}: when is not an ISO date-time") from exc

    def money(self) -> Money:
        try:
            return Money(self.integer("amount"), self.text("currency"))
        except MoneyError as exc:
            raise DocumentError(f"{self._kind}: amount: {exc}") from exc

    def half(self, key: str) -> HalfTotals:
        half: Mapping[str, Any] = self._get(key, (Mapping,))
        try:
            result = SettleResult[str(half.get("result", "")).upper()]
        except KeyError as exc:
            raise DocumentError(f"{self._kind}: {key}.result {half.get('result')!r}") from exc
        return HalfTotals(
            debit_amount=self.integer("debit_amount", key),
            debit_count=self.integer("debit_count", key),
            credit_amount=self.integer("credit_amount", key),
            credit_count=self.integer("credit_count", key),
            result=result,
        )

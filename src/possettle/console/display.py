"""How the console shows money, times and software versions: one place for every page and chart.

The ledger keeps amounts as integer minor units with an ISO 4217 numeric currency, and times as
UTC. People read the shop's money and the shop's clock, as the receipts print them: an amount
is ``¥470.82`` in Chinese and ``CNY 470.82`` in English (never ``470.82 156``), and a time is
the shop's local time with its zone, ``2026-12-07 14:03:22 CST (UTC+8)``. The JSON API keeps
minor units and ISO 8601 UTC; only what a person reads goes through here.

The display zone is one setting (``possettle console --timezone``, default
:data:`DEFAULT_ZONE`, Beijing time, as the terminals' receipts use), read as the terminal
policy's ``timezone`` is: an IANA name, ``UTC`` or a fixed offset such as ``+08:00``.

>>> amount("zh", 47082, "156"), amount("en", 47082, "156")
('¥470.82', 'CNY 470.82')
>>> from datetime import UTC, datetime
>>> Zone.named("Asia/Shanghai").show(datetime(2026, 12, 7, 6, 3, 22, tzinfo=UTC))
'2026-12-07 14:03:22 CST (UTC+8)'
>>> version("010203")
'1.2.3'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

from possettle.console.errors import ConsoleError
from possettle.iso8583.framing import version_text

DEFAULT_ZONE: Final = "Asia/Shanghai"

# ISO 4217 numeric code: (alphabetic code, symbol, minor-unit exponent)
CURRENCIES: Final[dict[str, tuple[str, str, int]]] = {
    "156": ("CNY", "¥", 2),
    "344": ("HKD", "HK$", 2),
    "392": ("JPY", "JP¥", 0),
    "840": ("USD", "US$", 2),
    "978": ("EUR", "€", 2),
}

_OFFSET = re.compile(r"^([+-])([01][0-9]|2[0-3]):([0-5][0-9])$")


class ZoneRejected(ConsoleError, ValueError):
    """The display zone given is not a time zone the console knows."""


def currency_code(currency: str) -> str:
    """``156`` → ``CNY``; a code the table lacks shows as it is."""
    known = CURRENCIES.get(currency)
    return known[0] if known else currency


def amount(lang: str, minor: int | None, currency: str = "156") -> str:
    """An amount in minor units as a person reads it: ``¥1,234.50`` (zh), ``CNY 1,234.50`` (en).

    >>> amount("en", -5, "156"), amount("zh", 1500, "392"), amount("en", 100, "999")
    ('CNY -0.05', 'JP¥1,500', '999 1.00')
    """
    if minor is None:
        return ""
    code, symbol, exponent = CURRENCIES.get(currency, (currency, currency + " ", 2))
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    figure = f"{whole:,}" + (f".{frac:0{exponent}d}" if exponent else "")
    return f"{sign}{symbol}{figure}" if lang == "zh" else f"{code} {sign}{figure}"


def version(digits: str | None) -> str:
    """Software version ``010203`` (the frame header's form) as ``1.2.3``; other text as is."""
    return "" if digits is None else version_text(digits)


def _offset_text(delta: timedelta | None) -> str:
    """``UTC+8``, ``UTC+5:30``, ``UTC-3``, ``UTC``."""
    minutes = int((delta or timedelta()).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@dataclass(frozen=True)
class Zone:
    """The zone every time on the console is shown in."""

    name: str
    tz: tzinfo

    @classmethod
    def named(cls, name: str) -> Zone:
        """``Asia/Shanghai``, ``UTC`` or ``+08:00``; :class:`ZoneRejected` says which was wrong."""
        text = name.strip()
        if text.upper() == "UTC":
            return cls("UTC", UTC)
        if m := _OFFSET.match(text):
            delta = timedelta(hours=int(m[2]), minutes=int(m[3]))
            return cls(text, timezone(-delta if m[1] == "-" else delta))
        try:
            return cls(text, ZoneInfo(text))
        except (ValueError, LookupError) as exc:
            raise ZoneRejected(
                f"unknown time zone {text!r}: give an IANA name (Asia/Shanghai), UTC or an "
                f"offset (+08:00) / 未知时区 {text!r}：请给出时区名（Asia/Shanghai）、UTC 或偏移"
                f"（+08:00）"
            ) from exc

    def local(self, value: datetime | str) -> datetime:
        """``value`` (aware, or ISO 8601 text; naive is UTC, as the ledger stores it) here."""
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return at.astimezone(self.tz)

    def label(self, at: datetime) -> str:
        """The zone of a local time: ``CST (UTC+8)``, or ``UTC+8`` where it has no name."""
        offset = _offset_text(at.utcoffset())
        abbr = at.tzname() or ""
        if not abbr or abbr.startswith(("UTC", "+", "-")) or abbr == offset:
            return offset
        return f"{abbr} ({offset})"

    def show(self, value: datetime | str | None, *, seconds: bool = True) -> str:
        """``2026-12-07 14:03:22 CST (UTC+8)``; empty for no time."""
        if value is None or value == "":
            return ""
        at = self.local(value)
        shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
        return f"{at.strftime(shape)} {self.label(at)}"

    def day(self, value: datetime | str) -> date:
        """The shop's calendar day of ``value`` (a settlement at 00:30 in Beijing is that day,
        though it is the evening before in UTC)."""
        return self.local(value).date()

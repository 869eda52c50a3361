"""Acquirers (收单机构 / 支付公司) and their response-code overrides (``data/acquirers.toml``).

Codes are not universal: the same field-39 code means something else on some hosts (A1–A7,
87, 90/91, 06/08; docs/support.md, "Codes per acquirer"). Each acquirer reads the CUP table
(:mod:`possettle.iso8583.cup`) or possettle's own dialect (:mod:`possettle.iso8583.codes`),
with overrides where a source shows its host uses a code otherwise.

>>> [a.id for a in all_acquirers()][:3]
['cup', 'lakala', 'shengpay']
>>> acquirer("qianbao").overrides["06"].zh
'重新签到'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, Literal

from possettle.catalogs import Text
from possettle.doctor.catalog import BY_ID
from possettle.support.datafile import Where, load
from possettle.support.errors import UnknownIdError

FILE = "acquirers.toml"
Table = Literal["cup", "possettle"]
SOURCES = frozenset({"KY", "LY", "OP", "SQL", "AND", "ACQ87", "PAXUS", "CTM", "NLD", "CIL"})


@dataclass(frozen=True, slots=True)
class Override:
    code: str
    zh: str
    en: str
    display: str | None
    #: cause id → Bayes factor; empty: the code says nothing about a settlement failure
    factors: Mapping[str, float]
    #: how sure we are that this acquirer's host uses the code so (0..1)
    share: float
    source: str
    source_note: str


@dataclass(frozen=True, slots=True)
class Acquirer:
    id: str
    en: str
    zh: str
    table: Table
    about: Text
    overrides: Mapping[str, Override]
    #: cause id → how much more often it is reported from this acquirer's terminals
    likely: Mapping[str, float]

    @property
    def standard(self) -> bool:
        """Reads its table with no override of its own."""
        return not self.overrides


def _factors(where: Where, row: Mapping[str, Any]) -> dict[str, float]:
    raw = row.get("factors", {})
    if not isinstance(raw, Mapping):
        raise where.error("factors", "must be a table {cause id = factor}")
    out = {}
    for cause_id, factor in raw.items():
        if cause_id not in BY_ID:
            raise where.error(f"factors.{cause_id}", "not a cause of doctor/catalog.py")
        if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
            raise where.error(f"factors.{cause_id}", f"must be a positive number, not {factor!r}")
        out[cause_id] = float(factor)
    return out


def _override(acq_id: str, code: str, row: Any) -> Override:
    where = Where(FILE, f'acquirer.{acq_id}.code."{code}"')
    row = where.table_of(row)
    where.only(row, {"zh", "en", "display", "factors", "share", "source", "source_note"})
    source = where.text(row, "source")
    if source not in SOURCES:
        raise where.error("source", f"{source!r} is not a source tag of docs/support.md")
    return Override(
        code=code,
        zh=where.text(row, "zh"),
        en=where.text(row, "en"),
        display=where.text(row, "display", required=False) or None,
        factors=MappingProxyType(_factors(where, row)),
        share=where.number(row, "share", 1.0, lo=0.0, hi=1.0),
        source=source,
        source_note=where.text(row, "source_note"),
    )


def _acquirer(acq_id: str, row: Any) -> Acquirer:
    where = Where(FILE, f"acquirer.{acq_id}")
    row = where.table_of(row)
    where.only(row, {"en", "zh", "table", "about_en", "about_zh", "code", "likely"})
    likely = row.get("likely", {})
    if not isinstance(likely, Mapping):
        raise where.error("likely", "must be a table {cause id = weight}")
    likely = _factors(Where(FILE, f"acquirer.{acq_id}"), {"factors": likely})
    table = row.get("table", "cup")
    if table not in ("cup", "possettle"):
        raise where.error("table", f"must be 'cup' or 'possettle', not {table!r}")
    codes = row.get("code", {})
    if not isinstance(codes, Mapping):
        raise where.error("code", 'must be tables [acquirer.<id>.code."XX"]')
    return Acquirer(
        id=acq_id,
        en=where.text(row, "en"),
        zh=where.text(row, "zh"),
        table=table,
        about=Text(where.text(row, "about_en"), where.text(row, "about_zh")),
        overrides=MappingProxyType(
            {code.upper(): _override(acq_id, code.upper(), r) for code, r in codes.items()}
        ),
        likely=MappingProxyType(likely),
    )


def parse(doc: Mapping[str, Any]) -> tuple[Acquirer, ...]:
    rows = doc.get("acquirer")
    if not isinstance(rows, Mapping) or not rows:
        raise Where(FILE, "acquirer").error("acquirer", "no [acquirer.<id>] tables")
    return tuple(_acquirer(acq_id, row) for acq_id, row in rows.items())


@cache
def all_acquirers() -> tuple[Acquirer, ...]:
    """Every acquirer, in the file's order (read once)."""
    return parse(load(FILE))


def acquirer(acq_id: str) -> Acquirer:
    for a in all_acquirers():
        if a.id == acq_id:
            return a
    known = ", ".join(a.id for a in all_acquirers())
    raise UnknownIdError(f"no acquirer {acq_id!r} (known: {known})")

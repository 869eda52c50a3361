"""The journal's transactions as the merchant asks for them (查询流水), with their totals.

A :class:`TxnFilter` narrows the list by trace (voucher) number, reference number, the card's
last four digits, the shop's local date and the batch; :func:`list_txns` returns the rows that
match, card numbers masked as the journal keeps them (first 6 / last 4), and :class:`Totals`
counts them per kind. Amounts are integer fen; the CLI shows them in yuan.

What counts in a kind's total is what stands: an approved sale, void or refund, an offline
sale approved or waiting to be uploaded. Declined, failed, reversed and still-pending rows are
listed (with their state) and counted apart, under ``not_approved``.

>>> parse_day("2026-11-26")
datetime.date(2026, 11, 26)
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from possettle.terminal.errors import Refused
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.records import TxnKind, TxnRow, TxnState

#: (English, Chinese) of each kind and state, as a merchant reads them
KIND_WORDS = {
    TxnKind.SALE: ("sale", "消费"),
    TxnKind.VOID: ("void", "消费撤销"),
    TxnKind.REFUND: ("refund", "退货"),
    TxnKind.OFFLINE_SALE: ("offline sale", "离线消费"),
}
STATE_WORDS = {
    TxnState.APPROVED: ("approved", "成功"),
    TxnState.DECLINED: ("declined", "拒绝"),
    TxnState.REVERSED: ("reversed", "已冲正"),
    TxnState.FAILED: ("failed", "失败"),
    TxnState.PENDING: ("pending", "结果未知"),
    TxnState.OFFLINE_PENDING: ("offline, to upload", "离线待上送"),
}
_STANDING = (TxnState.APPROVED, TxnState.OFFLINE_PENDING)


@dataclass(frozen=True, slots=True, kw_only=True)
class TxnFilter:
    """What to list; every field given must match (``None`` matches anything)."""

    stan: int | None = None
    rrn: str | None = None
    last4: str | None = None
    day: date | None = None
    batch: int | None = None

    def check(self) -> None:
        """Refuse a filter that can match nothing by its form, saying which and why."""
        if self.last4 is not None and (len(self.last4) != 4 or not self.last4.isdigit()):
            # the value is not echoed: a whole card number typed here must not be printed
            n, digits = len(self.last4), self.last4.isdigit()
            raise Refused(
                "input.last4",
                f"--last4: expected the card's last 4 digits, got {n} characters"
                + ("" if digits else ", not all digits"),
                f"--last4：请输入卡号末四位数字（输入了 {n} 个字符"
                + ("" if digits else "，含非数字")
                + "）",
            )
        if self.stan is not None and not 0 < self.stan <= 999_999:
            raise Refused(
                "input.stan",
                f"--stan: a voucher number is 1 to 999999, got {self.stan}",
                f"--stan：凭证号应为 1 至 999999（输入了 {self.stan}）",
            )
        if self.batch is not None and not 0 < self.batch <= 999_999:
            raise Refused(
                "input.batch",
                f"--batch: a batch number is 1 to 999999, got {self.batch}",
                f"--batch：批次号应为 1 至 999999（输入了 {self.batch}）",
            )
        if self.rrn is not None and not (0 < len(self.rrn) <= 12 and self.rrn.isalnum()):
            raise Refused(
                "input.rrn",
                "--rrn: a reference number is up to 12 letters or digits",
                "--rrn：参考号为不超过 12 位的字母或数字",
            )

    def matches(self, row: TxnRow, tz: tzinfo) -> bool:
        return (
            (self.stan is None or row.stan == self.stan)
            and (self.rrn is None or row.rrn == self.rrn)
            and (self.last4 is None or row.pan_masked.endswith(self.last4))
            and (self.batch is None or row.batch == self.batch)
            and (self.day is None or local_day(row, tz) == self.day)
        )


def parse_day(text: str) -> date:
    """``--date YYYY-MM-DD`` as a date, or a bilingual refusal naming the flag."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(
            "input.date",
            f"--date: expected a date as YYYY-MM-DD (e.g. 2026-11-26), got {text!r}",
            f"--date：日期格式应为 YYYY-MM-DD（如 2026-11-26），输入了 {text!r}",
        ) from None


def local_day(row: TxnRow, tz: tzinfo) -> date:
    """The shop's date of ``row``: its field-13 MMDD, in the year its journal time falls in.

    The row keeps the shop's MMDD (what went on the wire); the year comes from the journal's
    time of the row, moved to the shop's zone (a sale at 00:10 on 1 January is still matched).
    """
    written = datetime.fromisoformat(row.created_at).astimezone(tz).date()
    month, day = int(row.local_date[:2]), int(row.local_date[2:])
    candidates = []
    for year in (written.year - 1, written.year, written.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:  # 29 February in a year without one
            continue
    return min(candidates, key=lambda d: abs((d - written).days))


@dataclass(slots=True)
class KindTotal:
    count: int = 0
    amount: int = 0

    def add(self, amount: int) -> None:
        self.count += 1
        self.amount += amount


@dataclass(slots=True)
class Totals:
    """Counts and amounts (fen) of the listed rows, per kind; ``net`` is what the merchant is
    owed for them: sales and offline sales, less voids and refunds."""

    sales: KindTotal = field(default_factory=KindTotal)
    voids: KindTotal = field(default_factory=KindTotal)
    refunds: KindTotal = field(default_factory=KindTotal)
    offline: KindTotal = field(default_factory=KindTotal)
    not_approved: KindTotal = field(default_factory=KindTotal)

    @classmethod
    def of(cls, rows: list[TxnRow]) -> Totals:
        totals = cls()
        for row in rows:
            totals.kind(row).add(row.amount)
        return totals

    def kind(self, row: TxnRow) -> KindTotal:
        if row.state not in _STANDING or (
            row.state is TxnState.OFFLINE_PENDING and row.kind is not TxnKind.OFFLINE_SALE
        ):
            return self.not_approved
        return {
            TxnKind.SALE: self.sales,
            TxnKind.VOID: self.voids,
            TxnKind.REFUND: self.refunds,
            TxnKind.OFFLINE_SALE: self.offline,
        }[row.kind]

    @property
    def net(self) -> int:
        return self.sales.amount + self.offline.amount - self.voids.amount - self.refunds.amount

    def as_dict(self) -> dict[str, Any]:
        kinds = ("sales", "voids", "refunds", "offline", "not_approved")
        data: dict[str, Any] = {
            k: {"count": getattr(self, k).count, "amount": getattr(self, k).amount} for k in kinds
        }
        data["net"] = self.net
        return data


def list_txns(conn: sqlite3.Connection, wanted: TxnFilter, tz: tzinfo) -> list[TxnRow]:
    """The journal's transactions matching ``wanted``, oldest first."""
    wanted.check()
    return [row for row in q.all_txns(conn) if wanted.matches(row, tz)]


def entry(row: TxnRow, tz: tzinfo) -> dict[str, Any]:
    """One listed transaction as data: amounts in fen, the card masked (first 6 / last 4)."""
    day = local_day(row, tz)
    t = row.local_time
    return {
        "batch": row.batch,
        "voucher": row.stan,
        "kind": row.kind.value,
        "state": row.state.value,
        "amount": row.amount,
        "currency": row.currency,
        "card": row.pan_masked,
        "card_org": row.card_org,
        "rrn": row.rrn,
        "auth_code": row.auth_code,
        "response_code": row.response_code,
        "local_time": f"{day.isoformat()} {t[:2]}:{t[2:4]}:{t[4:6]}",
        "operator": row.operator,
        "voided": row.voided,
        "orig_batch": row.orig_batch,
        "orig_voucher": row.orig_stan,
    }

"""The companion checksum file: the record count and the total of 交易金额 (field 6, fen).

The open-source parsers show no trailer or checksum for ACOM, so this format is possettle's
own (modelled on the Mastercard IPM trailer's message count and amount checksum). ASCII, one
``key value`` pair a line, LF line ends::

    possettle-acom-checksum 1
    file ACOMA_20261208.txt
    records 3
    amount 1234567
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.clearing.errors import FileFormatError

MAGIC = "possettle-acom-checksum 1"


@dataclass(frozen=True, slots=True)
class Checksum:
    """The count of records and the sum of their amounts (fen) in one data file."""

    file: str
    records: int
    amount: int


def render(checksum: Checksum) -> bytes:
    """The checksum file's bytes."""
    return (
        f"{MAGIC}\nfile {checksum.file}\nrecords {checksum.records}\namount {checksum.amount}\n"
    ).encode("ascii")


def parse(data: bytes, name: str = "<checksum>") -> Checksum:
    """A checksum file read back; FileFormatError naming the file and line if it is not one."""
    try:
        lines = data.decode("ascii").splitlines()
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{name}: not ASCII at byte {exc.start}") from exc
    if not lines or lines[0] != MAGIC:
        raise FileFormatError(f"{name}: line 1: expected {MAGIC!r}")
    values: dict[str, str] = {}
    for no, line in enumerate(lines[1:], start=2):
        key, _, value = line.partition(" ")
        if key not in ("file", "records", "amount") or not value:
            raise FileFormatError(f"{name}: line {no}: expected 'file', 'records' or 'amount'")
        values[key] = value
    missing = [k for k in ("file", "records", "amount") if k not in values]
    if missing:
        raise FileFormatError(f"{name}: missing {', '.join(missing)}")
    try:
        return Checksum(values["file"], int(values["records"]), int(values["amount"]))
    except ValueError as exc:
        raise FileFormatError(f"{name}: records and amount must be integers") from exc

"""docs/clearing.md says what the code does: its field table is the layout, its bad-line
report is the reader's."""

from __future__ import annotations

from pathlib import Path

from possettle.clearing.acom_read import read_bytes
from possettle.clearing.acom_write import encode_line
from possettle.clearing.layout import Variant, offsets
from tests.clearing.conftest import make_record

DOC = Path(__file__).resolve().parents[2] / "docs" / "clearing.md"


def test_the_docs_field_table_is_the_layout() -> None:
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    table = [row for row in rows if row.split("|")[1].strip().isdigit()]
    want = [
        f"| {f.number} | `{f.name}` | {pos + 1}–{pos + f.length} | {f.length} |"
        f" {f.kind.value} | {f.meaning} |"
        for f, pos in offsets(Variant.ACOMA)
    ]
    assert table == want


def test_the_docs_bad_line_report_is_the_readers() -> None:
    lines = [encode_line(make_record(stan=f"{n:06d}", amount=n), Variant.ACOM) for n in range(5)]
    lines[1] = lines[1][:70]
    lines[2] = lines[2][:62] + b"00000000X345" + lines[2][74:]
    lines[3] = lines[3][:31] + b"1332103005" + lines[3][41:]
    result = read_bytes("ACOM_20261208.txt", b"\r\n".join(lines) + b"\r\n")
    doc = DOC.read_text(encoding="utf-8")
    for bad in result.bad_lines:
        assert str(bad) in doc

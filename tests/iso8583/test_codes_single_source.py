"""One response-code table (iso8583/codes.py): no other module spells a code set.

The doctor, the alert rules, the terminal and the console derive their sets from the table's
columns; a module that writes ``("91", "96", "98")`` (or "91/96/98" in a message) can drift
from it (issue 11: ``90`` was issuer-down to the alerts and outside-hours to the doctor).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from possettle.iso8583 import codes, cup
from possettle.iso8583.codes import CODES, Action, describe, family_codes
from possettle.iso8583.cup import CupCategory, cup_code
from possettle.iso8583.cup import table as cup_table
from possettle.iso8583.errors import CodeTableError

SRC = Path(codes.__file__).resolve().parents[1]
TABLE = Path(codes.__file__).resolve()


def _literal_strings(node: ast.AST) -> list[str] | None:
    """The string elements of a tuple, list or set literal made only of string constants."""
    if not isinstance(node, ast.Tuple | ast.List | ast.Set):
        return None
    out = []
    for elt in node.elts:
        if not (isinstance(elt, ast.Constant) and isinstance(elt.value, str)):
            return None
        out.append(elt.value)
    return out


def _code_sets(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Literals of two or more distinct response codes: a set of codes that means something."""
    found = []
    for node in ast.walk(tree):
        values = _literal_strings(node)
        if values and len(set(values)) >= 2 and all(v in CODES for v in values):
            found.append((getattr(node, "lineno", 0), values))
    return found


_LISTED = re.compile(r"\b([0-9A-Z]{2})(?:\s*/\s*([0-9A-Z]{2}))+\b")


def _prose_sets(tree: ast.AST) -> list[tuple[int, str]]:
    """Code sets spelt in text (``"issuer-down answers (91/96/98)"``): they go stale."""
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }  # documentation may name codes; messages a user reads must not list them by hand
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            for m in _LISTED.finditer(node.value):
                listed = re.split(r"\s*/\s*", m.group(0))
                if len(set(listed)) >= 2 and all(c in CODES for c in listed):
                    found.append((node.lineno, m.group(0)))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.resolve() != TABLE)


def test_no_module_outside_the_table_hard_codes_a_code_set_or_meaning() -> None:
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(SRC)
        offenders += [f"{rel}:{line}: code set {values}" for line, values in _code_sets(tree)]
        offenders += [f"{rel}:{line}: code list {text!r}" for line, text in _prose_sets(tree)]
    assert not offenders, "derive these from possettle.iso8583.codes:\n" + "\n".join(offenders)


def test_the_scan_finds_a_hard_coded_set() -> None:
    """The scan is not blind: the kinds of line it must catch are caught."""
    tree = ast.parse(
        'ISSUER = ("91", "96", "98")\nif code in {"A0", "77"}: pass\nx = "down (91/96)"'
    )
    assert [v for _, v in _code_sets(tree)] == [["91", "96", "98"], ["A0", "77"]]
    assert [m for _, m in _prose_sets(tree)] == ["91/96"]
    # field numbers, PAN prefixes and one code compared three times are not code sets
    benign = 'KEEP = ("2", "3", "11")\nMC = {"51", "52", "53"}\nok = x == ("00", "00")\nd = "12/31"'
    assert not _code_sets(ast.parse(benign)) and not _prose_sets(ast.parse(benign))


def test_90_has_one_meaning_everywhere() -> None:
    """CUP tables: 90 is the host's day cut-over (日切), not the issuer (research/screens.md
    row 60; causes.md: operation.outside_hours). The alerts and the doctor read the same row."""
    rc = describe("90")
    assert rc.cause == "operation.outside_hours"
    assert not rc.issuer_down
    assert "90" not in family_codes("code.issuer")
    assert rc.action is Action.RETRY_LATER


def test_every_code_the_causes_name_is_in_the_table() -> None:
    """causes.md lists these codes as signals; the table knows each (no default meaning)."""
    for code in ("91", "92", "96", "98", "06", "40", "57", "58", "61", "65", "97", "03"):
        assert code in CODES, code
    for code in ("13", "64", "12", "25", "90", "59", "62"):
        assert code in CODES, code


# --- the CUP field-39 table (iso8583/data/cup39.toml) and possettle's dialect ---------------


def test_every_dialect_code_is_in_the_cup_table_with_its_category() -> None:
    """possettle's dialect rows get their CUP category from the CUP table, never their own."""
    missing = sorted(code for code, rc in CODES.items() if rc.cup_category is None)
    assert not missing, f"codes.py codes the CUP table lacks: {missing}"
    for code, rc in CODES.items():
        assert rc.cup_category is cup_code(code).category, code


def test_dialect_and_cup_table_agree_on_the_cause_where_they_overlap() -> None:
    """A code the doctor reads as one cause points the support desk at the same cause."""
    disagree = {
        code: (rc.cause, cup_code(code).cause)
        for code, rc in CODES.items()
        if rc.cause != cup_code(code).cause
    }
    assert not disagree, f"codes.py cause vs cup39.toml cause: {disagree}"


def test_approved_means_the_same_in_both_scales() -> None:
    """CUP category A (success) is exactly possettle's class A where the tables overlap."""
    cup_a = {c for c in CODES if cup_code(c).category is CupCategory.A}
    ours_a = {c for c, rc in CODES.items() if rc.cls == "A"}
    assert cup_a == ours_a == {codes.APPROVED}


def test_the_cup_table_names_only_catalog_causes_and_known_sources() -> None:
    from possettle.doctor.catalog import BY_ID

    rows = cup_table()
    assert len(rows) >= 60  # the CUP table, not a sample of it
    bad = {c: r.cause for c, r in rows.items() if r.cause is not None and r.cause not in BY_ID}
    assert not bad, f"causes not in doctor/catalog.py: {bad}"
    sources = {s for r in rows.values() for s in r.sources}
    assert sources <= {"KY", "LY", "OP", "SQL", "CTM", "AND"}, sources
    # the research's corrections of reseller pages: 51 is funds, 57 the cardholder, A0 MAC
    assert cup_code("51").zh == "无足够的存款" and cup_code("51").cause is None
    assert cup_code("57").category is CupCategory.C
    assert cup_code("A0").zh == "MAC校验错" and cup_code("A0").category is CupCategory.B


def test_no_module_spells_a_cup_category_or_meaning_but_the_tables() -> None:
    """The CUP meanings (zh) and the category words live in cup39.toml and cup.py only;
    possettle's dialect (codes.py) words its own meanings."""
    # short, everyday words ("格式错误", "交易成功") are not the table's: a meaning of five
    # characters or more, and the failed categories' words, are
    meanings = {r.zh for r in cup_table().values() if len(r.zh) >= 5}
    meanings |= {cat.zh for cat in CupCategory if cat is not CupCategory.A}
    cup_module = Path(cup.__file__).resolve()
    offenders = []
    for path in _modules():
        if path.resolve() == cup_module:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {  # documentation may quote a meaning; code must not spell one
            id(node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                offenders += [
                    f"{path.relative_to(SRC)}:{node.lineno}: {m}"
                    for m in meanings
                    if m in node.value
                ]
    assert not offenders, "read these from possettle.iso8583.cup:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[code."A0"]\ncategory = "F"\nzh = "x"\nen = "x"\ndisplay = "x"\nsources = ["KY"]',
            "[code.'A0'] category must be one of A–E",
        ),
        (
            '[code."A0"]\ncategory = "B"\nen = "x"\ndisplay = "x"\nsources = ["KY"]',
            "[code.'A0'] zh must be a non-empty string",
        ),
        (
            '[code."A0"]\ncategory = "B"\nzh = "x"\nen = "x"\ndisplay = "x"\nsources = []',
            "[code.'A0'] sources must name at least one source",
        ),
        (
            '[code."A0"]\ncategory = "B"\nzh = "x"\nen = "x"\ndisplay = "x"\nsources = ["KY"]\n'
            'colour = "red"',
            "[code.'A0'] unknown key 'colour'",
        ),
    ],
)
def test_a_malformed_cup_table_names_the_file_code_and_key(text: str, message: str) -> None:
    with pytest.raises(CodeTableError) as err:
        cup.parse(text)
    assert str(err.value) == f"{cup.FILE}: {message}"

"""The doctor diagnoses from structured evidence only (issue 11): the journal's typed events,
the link's failure kind, the printer's and the reader's stable codes, response codes. It never
matches exception text, errno numbers or strings, or Python class names, which read differently
on another system, in another language or after a rename.

The scan reads every module of ``possettle.doctor`` and names each place that does; showing an
error's text to a person (``probe.error = str(exc)``) is fine, testing it is not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

DOCTOR = Path(__file__).resolve().parents[2] / "src" / "possettle" / "doctor"

#: attributes that are an exception's text, number or class, or a class's name
FORBIDDEN_ATTRIBUTES = {
    "__name__", "__qualname__", "__class__", "__cause__", "__context__", "errno", "strerror",
    "winerror",
}  # fmt: skip
#: text normalised before it is searched
FORBIDDEN_CALLS = {"lower", "upper", "casefold"}
#: names that hold text: a substring test on them, or a pattern run over them, reads text
TEXT_NAME = re.compile(r"(^|_)(message|error|err|exc|text|msg|reason|stderr|stdout|line|en|zh)$")
ERRNO_TEXT = re.compile(r"errno|winerror", re.I)


def _name_of(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id in ("str", "repr", "format"):
            return "text"  # str(exc), repr(x): text by construction
        return _name_of(node.func)
    if isinstance(node, ast.Subscript):
        return _name_of(node.value)
    return ""


def _is_text(node: ast.AST) -> bool:
    return bool(TEXT_NAME.search(_name_of(node).lower())) or isinstance(node, ast.JoinedStr)


def offences(source: str, where: str) -> list[str]:
    """Every place in ``source`` that decides on an error's text, number or class."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if ERRNO_TEXT.search(node.value):
                found.append(f"{line}: the string {node.value!r} (an errno or OS message)")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if "errno" in names:
                found.append(f"{line}: imports errno")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES:
            found.append(f"{line}: .{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, receiver = node.func.attr, node.func.value
            if method in FORBIDDEN_CALLS:
                found.append(f"{line}: .{method}() (text normalised to be searched)")
            elif method in ("startswith", "endswith", "find", "index", "count") and _is_text(
                receiver
            ):
                found.append(f"{line}: .{method}() on {ast.unparse(receiver)}")
            elif (
                isinstance(receiver, ast.Name)
                and receiver.id == "re"
                and any(_is_text(a) for a in node.args[1:2])
            ):
                found.append(f"{line}: re.{method} over {ast.unparse(node.args[1])}")
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                left = node.left
                if (
                    isinstance(op, ast.In | ast.NotIn)
                    and isinstance(left, ast.Constant)
                    and isinstance(left.value, str)
                    and _is_text(right)
                ):
                    found.append(f"{line}: {ast.unparse(node)} (a substring of text)")
    return found


def test_the_doctor_never_decides_on_exception_text_errno_or_class_names() -> None:
    found = [
        hit
        for path in sorted(DOCTOR.rglob("*.py"))
        for hit in offences(path.read_text(encoding="utf-8"), path.name)
    ]
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    "snippet",
    [
        # what signals.py and probes.py did before the evidence contract
        'refused = "Errno 111" in message or "refused" in message.lower()',
        'if "cannot connect" in message: pass',
        'if "no reply" in message: pass',
        'signal = f"print.failed.{type(exc).__name__}"',
        "import errno\nNO_ROUTE = (errno.ENETUNREACH, errno.EHOSTUNREACH)",
        "if isinstance(cause, OSError) and cause.errno in NO_ROUTE: pass",
        "kind = connect_failure(exc.__cause__)",
        'if "MINVER=" in str(ev.value) or "MINVER=" in ev.en: pass',
        'if detail["error"].startswith("[Errno"): pass',
        'if re.search("timed out", error): pass',
    ],
)
def test_the_scan_names_each_way_of_reading_text(snippet: str) -> None:
    assert offences(snippet, "snippet"), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        'if f.link_failure is LinkFailure.REFUSED: s.add("settle.link.refused", ev)',
        'if code == "input.original" and detail.stan in voids: pass',
        'if cause_id.startswith("printer."): pass',
        "probe.error = str(exc)",
        'if "storage.full" in s.seen: pass',
    ],
)
def test_the_scan_lets_structured_evidence_through(snippet: str) -> None:
    assert offences(snippet, "snippet") == []

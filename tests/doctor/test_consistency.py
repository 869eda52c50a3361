"""The doctor's tables agree with each other and with its documentation.

Every signal the doctor can emit (doctor/signals.py, and the ``code.*`` signals the response-code
table gives) has a likelihood entry (what it points at) and an area (the line of the report it
shows on); every cause id in the catalog is documented in docs/doctor.md and every documented
id is in the catalog.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from possettle.doctor import signals as signals_module
from possettle.doctor.catalog import BY_ID
from possettle.doctor.checks import AREA_SIGNALS, HEALTHY_SIGNALS
from possettle.doctor.likelihoods import FACTORS
from possettle.iso8583.codes import doctor_signals
from possettle.terminal.printer.status import PrinterCode

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "doctor.md"

# f-strings signals.py builds a signal from, and the values they take: a printer's stable
# codes (terminal/printer/status.py), from its status probe and from a print that failed
PRINTER_CODES = {code.value for code in PrinterCode}
TEMPLATES = {
    "f'printer.{code}'": {f"printer.{c}" for c in PRINTER_CODES},
    "f'print.failed.{printer}'": {f"print.failed.{c}" for c in PRINTER_CODES},
}


def _strings(node: ast.AST, assigned: dict[str, list[ast.AST]]) -> set[str]:
    """The string values an expression can take (constants, either branch of an ``if``, the
    values of a dict literal it looks up, the assignments of a local name)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Constant) and node.value is None:
        return set()  # "no signal" (a refusal since mended)
    if isinstance(node, ast.IfExp):
        return _strings(node.body, assigned) | _strings(node.orelse, assigned)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Dict)
        and node.func.attr == "get"
    ):
        found = {v for x in node.func.value.values if x for v in _strings(x, assigned)}
        default = node.args[1:]  # {...}.get(key, default)
        return found | {v for x in default for v in _strings(x, assigned)}
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
        return {v for x in node.value.values if x for v in _strings(x, assigned)}
    if isinstance(node, ast.Attribute) and node.attr == "doctor_signal":
        return set(doctor_signals())  # the response-code table's column
    if isinstance(node, ast.Name) and node.id in assigned:
        return {v for x in assigned[node.id] for v in _strings(x, assigned)}
    if isinstance(node, ast.JoinedStr):
        text = ast.unparse(node)
        if text in TEMPLATES:
            return TEMPLATES[text]
        if text == "f'{signal}.minver'":
            return {
                f"{s}.minver" for s in doctor_signals() if s == signals_module.MINVER_CODE_SIGNAL
            }
    raise AssertionError(f"signals.py: cannot tell which signals {ast.unparse(node)} emits")


def emitted() -> set[str]:
    tree = ast.parse(Path(signals_module.__file__).read_text(encoding="utf-8"))
    out: set[str] = set(doctor_signals())
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        assigned: dict[str, list[ast.AST]] = {}
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "s"
            ):
                out |= _strings(node.args[0], assigned) - {""}
    return out


def test_the_scan_sees_the_signals_it_should() -> None:
    found = emitted()
    assert {"printer.paper_out", "probe.ok", "code.issuer", "code.58.minver"} <= found
    assert {"refused.operator", "refused.void_settled", "settle.link.no_route"} <= found
    assert {"settle.link.lost_reply", "settle.link.unknown"} <= found
    assert {"print.failed.paper_out", "printer.cover_open"} <= found


def test_every_emitted_signal_has_a_likelihood_entry() -> None:
    missing = sorted(emitted() - set(FACTORS))
    assert not missing, f"signals with no entry in likelihoods.FACTORS: {missing}"


def test_every_likelihood_names_catalog_causes_and_an_emitted_signal() -> None:
    assert not sorted(set(FACTORS) - emitted()), "FACTORS entries no signal emits"
    unknown = sorted({c for f in FACTORS.values() for c in f} - set(BY_ID))
    assert not unknown, f"causes in FACTORS missing from the catalog: {unknown}"


def test_every_emitted_signal_has_an_area() -> None:
    in_area = {s for warn, fail in AREA_SIGNALS.values() for s in (*warn, *fail)}
    in_area |= set(HEALTHY_SIGNALS)
    assert set(HEALTHY_SIGNALS.values()) <= set(AREA_SIGNALS)
    missing = sorted(emitted() - in_area)
    assert not missing, f"signals on no line of the report (checks.AREA_SIGNALS): {missing}"


def _documented() -> set[str]:
    text = DOCS.read_text(encoding="utf-8")
    assert "\n## Causes\n" in text, "docs/doctor.md has no '## Causes' table"
    section = text.split("## Causes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", section, flags=re.M))


def test_every_catalog_cause_is_documented_and_every_documented_cause_exists() -> None:
    documented = _documented()
    assert sorted(set(BY_ID) - documented) == [], "catalog causes missing from docs/doctor.md"
    assert sorted(documented - set(BY_ID)) == [], "docs/doctor.md names causes not in the catalog"

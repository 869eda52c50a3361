"""One error tree per package, translated once at its boundary; no control flow by exceptions.

Read from the source: a package's callers catch that package's errors alone, so a lower
layer's error names appear only where that lower layer is called.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "possettle"
LINK_CLIENT = "possettle.link.client"
SETTLEMENT_DRIVER = PACKAGE / "terminal" / "settlement_run.py"


def _module(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts)


def _imported(tree: ast.AST, module: str) -> set[str]:
    """The names ``tree`` imports from ``module``, at any depth."""
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == module
        for alias in node.names
    }


def _link_errors() -> set[str]:
    """The exception classes :mod:`possettle.link.client` defines."""
    tree = ast.parse((PACKAGE / "link" / "client.py").read_text())
    errors: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
            ast.unparse(base) in {"PossettleError", *errors} for base in node.bases
        ):
            errors.add(node.name)
    return errors


def _sources() -> Iterator[tuple[str, ast.AST]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield _module(path), ast.parse(path.read_text(), str(path))


def test_the_link_defines_the_errors_this_scan_looks_for() -> None:
    assert {"LinkError", "LinkUnreachable", "LinkTimeout", "ReplyMacError"} <= _link_errors()


def test_only_code_that_holds_a_link_of_its_own_names_the_links_errors() -> None:
    """The terminal's callers (CLI, simulator, doctor) catch the terminal's ``LinkDown`` tree;
    the link's errors are named where a ``Link`` is driven: the terminal's shell (the one
    translation point) and tools that open their own (the doctor's probe, the fuzz target)."""
    link_errors = _link_errors()
    offenders = sorted(
        f"{name} names {', '.join(sorted(named))}"
        for name, tree in _sources()
        if not name.startswith("possettle.link.")
        and (named := _imported(tree, LINK_CLIENT) & link_errors)
        and "Link" not in _imported(tree, LINK_CLIENT)
    )
    assert offenders == []


def test_inside_the_terminal_only_the_shell_names_the_links_errors() -> None:
    link_errors = _link_errors()
    naming = sorted(
        name
        for name, tree in _sources()
        if name.startswith("possettle.terminal.") and _imported(tree, LINK_CLIENT) & link_errors
    )
    assert naming == ["possettle.terminal.shell"]


def test_the_settlement_driver_raises_nothing_to_steer_itself() -> None:
    """A settlement that stops at a step, or whose batch a sign-on adopted, is a value the
    driver matches on (``operations.settlement.Stop``, ``Adopted``), not an exception."""
    tree = ast.parse(SETTLEMENT_DRIVER.read_text())
    raises = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Raise)]
    exception_classes = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(b).endswith(("Error", "Exception", "Down")) for b in node.bases)
    ]
    assert (raises, exception_classes) == ([], [])


def test_no_module_defines_settlement_failed_or_batch_adopted() -> None:
    defined = sorted(
        f"{name}.{node.name}"
        for name, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name in {"SettlementFailed", "BatchAdopted"}
    )
    assert defined == []

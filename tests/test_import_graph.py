"""The layout's dependency rules, read from the source: who may import whom.

Every ``import`` and ``from ... import`` of ``possettle`` in ``src/`` counts, at module level
or inside a function (a function-local import hides a cycle from the interpreter, not from a
reader), except those under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator, Mapping, Set
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST) -> Iterator[str]:
    """The possettle modules ``tree`` imports, skipping ``if TYPE_CHECKING:`` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (name for child in node.orelse for name in _imports(child))
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "possettle":
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "possettle")
        yield from _imports(node)


def module_graph() -> dict[str, set[str]]:
    """Module -> the possettle modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted((SRC / "possettle").rglob("*.py")):
        graph[_module_name(path)] = set(_imports(ast.parse(path.read_text(), str(path))))
    return graph


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph(graph: Mapping[str, Set[str]]) -> dict[str, set[str]]:
    """Top-level package (``host``, ``monitor``, ``clock`` ...) -> the others it imports."""
    packages: dict[str, set[str]] = defaultdict(set)
    for src, targets in graph.items():
        packages[_top(src)].update(_top(t) for t in targets if _top(t) != _top(src))
    return dict(packages)


def cycles(graph: Mapping[str, Set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_finds_a_cycle_it_is_shown() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from possettle.x import A\n"
        "def f():\n    from possettle.y import B\n"
    )
    assert list(_imports(tree)) == ["possettle.y"]


def test_no_import_cycle_between_top_level_packages() -> None:
    assert cycles(package_graph(module_graph())) == []


def test_the_host_reports_to_the_monitor_through_an_observer_it_does_not_import() -> None:
    graph = module_graph()
    offenders = sorted(
        f"{src} imports {target}"
        for src, targets in graph.items()
        if _top(src) == "host"
        for target in targets
        if _top(target) == "monitor"
    )
    assert offenders == []


def test_no_import_cycle_inside_upstream() -> None:
    graph = module_graph()
    upstream = {
        src: {t for t in targets if t.startswith("possettle.upstream.")}
        for src, targets in graph.items()
        # the package's __init__ re-exports everything: it is the door, not part of a cycle
        if src.startswith("possettle.upstream.")
    }
    assert cycles(upstream) == []


def test_the_upstream_types_know_no_implementation() -> None:
    """Request and result types import no connector: implementations import them."""
    graph = module_graph()
    implementations = {"possettle.upstream.simulator", "possettle.upstream.iso8583"}
    assert graph["possettle.upstream.connector"] & implementations == set()
    assert implementations <= graph["possettle.upstream.factory"]

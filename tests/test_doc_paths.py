"""Every file the README and the docs point at is in a clone: each relative link
(``[text](path)``) and each repository path written as code (```doctor/facts.py```).

A path written as code is looked up from the repository's root, from the package
(``src/possettle``, where the docs' ``doctor/…``, ``terminal/…`` live) and from the document's
own folder; a link from the document's folder, as a Markdown viewer resolves it. Paths the
reader makes (``./host.db``, ``T1/journal.db``) are not the repository's; they are the command
blocks' business (another test runs those).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# CHANGELOG.md is history: it names files as they were when each entry was written.
DOCS = sorted([ROOT / "README.md", ROOT / "DEVELOPERS.md", *(ROOT / "docs").glob("*.md")])
BASES = (ROOT, ROOT / "src", ROOT / "src" / "possettle")
TREES = ("src", "tests", "bench", "scripts")

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\s]+)`")
# A repository path: folders and a file of the kinds the repository keeps (or a folder,
# ending in "/"), starting with a name, not a dot, a slash or a placeholder.
REPO_PATH = re.compile(
    r"^(?:[A-Za-z_][\w.-]*/)+(?:[\w.-]+\.(?:py|md|toml|ya?ml|json|tcss|html|css|js|sql|txt|cfg))?$"
)
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
# Paths a reader's own commands make (the examples' terminals, the artifacts a run writes),
# and placeholders (``bench/NAME.py``, ``versions/NNNN_what_it_does.py``).
MADE_BY_THE_READER = re.compile(r"^(?:T\d|t\d|shop|fleet|out|work|tmp|terminals?|artifacts)/")
PLACEHOLDER = re.compile(r"(?:^|/)(?:NAME|NNNN)(?:\b|_)")


@cache
def _tree() -> tuple[str, ...]:
    """Every file and folder of the clone's code trees, as paths from the root."""
    out: list[str] = []
    for top in TREES:
        for p in (ROOT / top).rglob("*"):
            if "__pycache__" not in p.parts:
                out.append(p.relative_to(ROOT).as_posix())
    return tuple(out)


def _prose(doc: Path) -> str:
    """The document without its fenced blocks (commands and sample output)."""
    return FENCE.sub("", doc.read_text(encoding="utf-8"))


def _exists(path: str, doc: Path) -> bool:
    """From the root, the package or the document; else as the tail of a path in the code
    (``operations/signon.py`` is ``src/possettle/terminal/operations/signon.py``)."""
    if any((base / path).exists() for base in (*BASES, doc.parent)):
        return True
    return any(p.endswith("/" + path) for p in _tree())


def _links(doc: Path) -> list[str]:
    out = []
    for target in LINK.findall(_prose(doc)):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor in the same page
        path = target.split("#", 1)[0]
        if not (doc.parent / path).exists():
            out.append(target)
    return out


def _code_paths(doc: Path) -> list[str]:
    out = []
    for text in CODE.findall(_prose(doc)):
        path = text.rstrip(".,;:)")
        if not REPO_PATH.match(path) or MADE_BY_THE_READER.match(path) or PLACEHOLDER.search(path):
            continue
        if not _exists(path.rstrip("/"), doc):
            out.append(path)
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_of_the_clone(doc: Path) -> None:
    assert _links(doc) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_in_the_text_exists(doc: Path) -> None:
    assert _code_paths(doc) == []


def test_the_scan_finds_a_missing_path_and_passes_a_real_one(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "See `doctor/facts.py`, `shared/causes.md`, [the style](../shared/style.md),\n"
        "[protocol](docs/protocol.md), `./host.db`, `T1/journal.db`.\n"
        "```\ncat shared/nothing.md\n```\n",
        encoding="utf-8",
    )
    assert _code_paths(doc) == ["shared/causes.md"]
    assert _links(doc) == ["../shared/style.md", "docs/protocol.md"]

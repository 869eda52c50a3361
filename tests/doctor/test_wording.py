"""The doctor's sentences live in one keyed catalog per language (doctor/locale/*.toml).

Both languages have the same keys and the same placeholders; every key the code asks for is
in the catalog with exactly the values the code gives, and every key in the catalog is asked
for; the doctor's code spells no Chinese sentence and has no ``# fmt: skip`` walls; a sentence
asked for with a value missing fails loudly instead of showing half-filled.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable
from pathlib import Path
from typing import get_args

import pytest

from possettle.doctor import wording
from possettle.doctor.catalog import BY_ID, CAUSES, Group, Step
from possettle.doctor.model import AREAS
from possettle.doctor.plain import Place
from possettle.doctor.probes import SkipReason
from possettle.doctor.recover import ACTIONS
from possettle.doctor.wording import LANGS, Text, WordingError, join, placeholders, say
from possettle.terminal.printer.status import PrinterCode
from possettle.terminal.reader import ReaderCode

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "possettle"
DOCTOR = SRC / "doctor"

# Keys the code builds from an id (an f-string): the ids each family takes.
FAMILIES: dict[str, Iterable[str]] = {
    "cause.{}.what": BY_ID,
    "cause.{}.remedy": BY_ID,
    "group.{}": [g.value for g in Group],
    "area.{}": AREAS,
    "check.ok.{}": AREAS,
    "printer.{}": [c.value for c in PrinterCode],
    "reader.{}": [c.value for c in ReaderCode],
    "likelihood.{}": ["most_likely", "also_likely", "possible", "less_likely"],
    "place.{}": [p.value for p in Place],
    "step.{}": [s.value for s in Step],
    "recovery.{}": [*ACTIONS, "ok", "failed"],
    "why.{}": [w for w in get_args(SkipReason) if w],
}

# Chinese (and full-width) characters: the doctor's code must not spell them.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def _callers() -> list[Path]:
    """The modules that ask the catalog for sentences."""
    return sorted(
        p
        for p in SRC.rglob("*.py")
        if "possettle.doctor.wording" in p.read_text(encoding="utf-8") or p == DOCTOR / "wording.py"
    )


def _skeleton(node: ast.JoinedStr) -> str:
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


def asked_for() -> dict[str, set[str] | None]:
    """Every key the code asks ``say`` for, with the value names it gives (None: ``**``)."""
    out: dict[str, set[str] | None] = {}
    for path in _callers():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "say"
            ):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            assert node.args, f"{where}: say() without a key"
            names = (
                None
                if any(k.arg is None for k in node.keywords)
                else {str(k.arg) for k in node.keywords}
            )
            key = node.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                keys = [key.value]
            elif isinstance(key, ast.JoinedStr) and _skeleton(key) in FAMILIES:
                keys = [_skeleton(key).format(i) for i in FAMILIES[_skeleton(key)]]
            else:
                raise AssertionError(f"{where}: cannot tell which key {ast.unparse(key)} is")
            for k in keys:
                out[k] = names
    return out


def test_the_scan_sees_the_keys_it_should() -> None:
    found = asked_for()
    assert {"report.title", "list.separator", "check.no_data", "evidence.unexplained"} <= set(found)
    assert {"cause.link.down.what", "area.power", "group.external", "check.ok.batch"} <= set(found)
    assert found["report.title"] == {"tid", "batch"}


def test_both_languages_have_the_same_keys() -> None:
    en, zh = (set(wording.sentences(lang)) for lang in LANGS)
    assert sorted(en - zh) == [], "in en.toml, missing from zh.toml"
    assert sorted(zh - en) == [], "in zh.toml, missing from en.toml"


def test_both_languages_have_the_same_placeholders_and_only_plain_names() -> None:
    en, zh = (wording.sentences(lang) for lang in LANGS)
    differ = {k: (placeholders(en[k]), placeholders(zh[k])) for k in en if k in zh}
    assert {k: v for k, v in differ.items() if v[0] != v[1]} == {}
    # a placeholder is a name, never an attribute or an index ({x.y}, {x[0]})
    odd = {k for k, (names, _) in differ.items() for n in names if not n.isidentifier()}
    assert odd == set()


def test_every_key_the_code_asks_for_is_there_with_the_values_the_code_gives() -> None:
    catalog = wording.sentences("en")
    missing = sorted(set(asked_for()) - set(catalog))
    assert missing == [], f"keys the code asks for that locale/en.toml lacks: {missing}"
    wrong = {
        key: (sorted(names), sorted(placeholders(catalog[key])))
        for key, names in asked_for().items()
        if names is not None and names != placeholders(catalog[key])
    }
    assert wrong == {}, "say() calls whose values differ from the sentence's placeholders"


def test_every_key_in_the_catalog_is_asked_for() -> None:
    unused = sorted(set(wording.sentences("en")) - set(asked_for()))
    assert unused == [], f"sentences no code asks for: {unused}"


def _strings_with_chinese(directory: Path) -> list[str]:
    """String literals in a directory's modules that hold Chinese (comments may: they state
    protocol facts such as 日切)."""
    found = []
    for path in sorted(directory.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.STRING and CJK.search(tok.string):
                found.append(f"{path.name}:{tok.start[0]}: {tok.string[:60]}")
    return found


def test_the_doctors_code_spells_no_chinese_sentence() -> None:
    assert _strings_with_chinese(DOCTOR) == []


def test_the_doctor_has_no_fmt_skip_walls() -> None:
    walls = [
        f"{p.name}:{n}"
        for p in sorted(DOCTOR.glob("*.py"))
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "fmt: skip" in line or "fmt: off" in line
    ]
    assert walls == []


def test_a_missing_value_fails_loudly_and_names_it() -> None:
    with pytest.raises(
        WordingError, match=r"evidence\.reversal_pending \(en\) needs a value for attempts"
    ):
        say("evidence.reversal_pending", stan=42)


def test_a_value_with_no_placeholder_fails_loudly() -> None:
    with pytest.raises(WordingError, match="no placeholder for stan"):
        say("evidence.storage_full", stan=42)


def test_a_missing_key_fails_loudly() -> None:
    with pytest.raises(WordingError, match=r"no sentence 'evidence\.no_such' in locale/en\.toml"):
        say("evidence.no_such")


def test_a_text_value_is_put_in_each_language_in_that_language() -> None:
    items = join(say("evidence.recon_break", stan=s, category="missing") for s in ("7", "8"))
    text = say("evidence.recon_breaks", batch=3, breaks=items)
    assert text.en == "The host's reconciliation of batch 000003: STAN 7 missing, STAN 8 missing."
    assert text.zh == "主机对批次 000003 的对账差错：流水号 7 missing，流水号 8 missing。"
    assert join([]) == Text("", "")


def test_the_documented_cause_sentences_are_the_catalogs() -> None:
    """docs/doctor.md's "what happened" column is the English of the catalog."""
    docs = (ROOT / "docs" / "doctor.md").read_text(encoding="utf-8")
    section = docs.split("\n## Causes\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| \w+ \| (.+?) \|", section, flags=re.M))
    assert rows == {c.id: c.what.en for c in CAUSES}

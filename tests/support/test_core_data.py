"""The support desk's data: every cause has what to do and what not to do in both languages;
the question and acquirer files load, and a malformed row names its file, table and key."""

from __future__ import annotations

import pytest

from possettle.catalogs import LANGS, placeholders
from possettle.doctor.catalog import BY_ID
from possettle.support import acquirers, questions, wording
from possettle.support.errors import DataFileError

REQUIRED_ACQUIRERS = {
    "cup",
    "lakala",
    "shengpay",
    "ruiyinxin",
    "ccb",
    "bocom",
    "qianbao",
    "cardinfolink",
    "possettle",
    "other",
}


@pytest.mark.parametrize("part", ["remedy", "avoid"])
def test_every_cause_has_a_remedy_and_an_avoid_in_both_languages(part: str) -> None:
    for lang in LANGS:
        sentences = wording.sentences(lang)
        missing = sorted(c for c in BY_ID if not sentences.get(f"cause.{c}.{part}", "").strip())
        assert not missing, f"support/locale/{lang}.toml lacks {part} for {missing}"


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    en, zh = wording.sentences("en"), wording.sentences("zh")
    assert set(en) == set(zh)
    assert {k: placeholders(v) for k, v in en.items()} == {
        k: placeholders(v) for k, v in zh.items()
    }
    named = {k[len("cause.") : k.rindex(".")] for k in en if k.startswith("cause.")}
    assert named == set(BY_ID), "support/locale names causes the catalog lacks, or misses some"


def test_the_acquirers_file_has_every_acquirer_the_desk_promises() -> None:
    ids = {a.id for a in acquirers.all_acquirers()}
    assert ids >= REQUIRED_ACQUIRERS
    for a in acquirers.all_acquirers():
        assert a.en and a.zh and a.about.en and a.about.zh
        if a.standard:
            assert a.table == "possettle" or "Standard CUP table" in a.about.en
        for o in a.overrides.values():
            assert o.source in acquirers.SOURCES and o.source_note


def test_the_questions_offer_unknown_and_normalised_likelihoods() -> None:
    for q in questions.all_question_data():
        assert q.question.answers[-1].id == "unknown"
        if q.from_acquirers:
            continue
        for cause_id in BY_ID:
            total = sum(q.likelihood[a][cause_id] for a in q.likelihood)
            assert total == pytest.approx(1.0), (q.id, cause_id)
    ids = [q.id for q in questions.all_questions()]
    assert ids[0] == "acquirer" and len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[paper]\nen = "x"\nzh = "x"\n[paper.answers.ok]\nen = "x"\nzh = "x"\n'
            'likelihood = { default = 0.5, "printer.nope" = 0.1 }\n'
            '[paper.answers.empty]\nen = "x"\nzh = "x"\n',
            "support/data/questions.toml [paper.answers.ok] likelihood.printer.nope: "
            "not a cause of doctor/catalog.py",
        ),
        (
            '[paper]\nen = "x"\nzh = "x"\n[paper.answers.ok]\nen = "x"\nzh = "x"\n'
            'likelihood = { "printer.fault" = 0.1 }\n[paper.answers.empty]\nen = "x"\nzh = "x"\n',
            "support/data/questions.toml [paper.answers.ok] likelihood: needs a default "
            "(for the causes it does not list)",
        ),
        (
            '[paper]\nen = "x"\nzh = "x"\n[paper.answers.ok]\nen = "x"\nzh = "x"\n'
            'likelihood = { default = 1.5 }\n[paper.answers.empty]\nen = "x"\nzh = "x"\n',
            "support/data/questions.toml [paper.answers.ok] likelihood.default: "
            "must be a probability 0..1, not 1.5",
        ),
        (
            '[paper]\nen = "x"\n[paper.answers.ok]\nen = "x"\nzh = "x"\n'
            '[paper.answers.empty]\nen = "x"\nzh = "x"\n',
            "support/data/questions.toml [paper] zh: must be a non-empty string",
        ),
    ],
)
def test_a_malformed_question_names_file_table_and_key(toml: str, message: str) -> None:
    from possettle.support.datafile import parse

    with pytest.raises(DataFileError) as err:
        questions.parse(parse("questions.toml", toml))
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[acquirer.x]\nen = "x"\nzh = "x"\nabout_en = "x"\nabout_zh = "x"\n'
            '[acquirer.x.code."90"]\nzh = "x"\nen = "x"\nsource = "blog"\nsource_note = "x"\n',
            'support/data/acquirers.toml [acquirer.x.code."90"] source: '
            "'blog' is not a source tag of docs/support.md",
        ),
        (
            '[acquirer.x]\nen = "x"\nzh = "x"\nabout_en = "x"\nabout_zh = "x"\n'
            '[acquirer.x.code."90"]\nzh = "x"\nen = "x"\nsource = "CTM"\nsource_note = "x"\n'
            "share = 2\n",
            'support/data/acquirers.toml [acquirer.x.code."90"] share: '
            "must be between 0 and 1, not 2",
        ),
        (
            '[acquirer.x]\nen = "x"\nzh = "x"\nabout_en = "x"\nabout_zh = "x"\n'
            '[acquirer.x.code."90"]\nzh = "x"\nen = "x"\nsource = "CTM"\nsource_note = "x"\n'
            'factors = { "weather.bad" = 3.0 }\n',
            'support/data/acquirers.toml [acquirer.x.code."90"] factors.weather.bad: '
            "not a cause of doctor/catalog.py",
        ),
    ],
)
def test_a_malformed_acquirer_names_file_table_and_key(toml: str, message: str) -> None:
    from possettle.support.datafile import parse

    with pytest.raises(DataFileError) as err:
        acquirers.parse(parse("acquirers.toml", toml))
    assert str(err.value) == message

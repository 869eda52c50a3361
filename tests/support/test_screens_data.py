"""The screen messages file (support/data/screens.toml): complete, sourced, and consistent with
the doctor's catalog of causes; a broken file is refused naming the file, table and key."""

from __future__ import annotations

import re

import pytest

from possettle.doctor.catalog import BY_ID
from possettle.support import normalize
from possettle.support.errors import DataFileError, UnknownIdError
from possettle.support.screens import all_screens, parse, screen

SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
# The English terminal strings support staff hear most, as the terminals show them.
ENGLISH_TERMINALS = {
    "BATCH CLOSE FAILED": "batch_close_failed",
    "COMM ERROR": "comm_error_en",
    "SETTLEMENT UNSUCCESSFUL": "settlement_unsuccessful",
    "BATCH NOT CLOSED": "settlement_unsuccessful",
    "HOST NOT RESPONDING": "host_not_responding",
    "Error In Batch": "error_in_batch",
    "Invalid Batch Sequence": "invalid_batch_sequence",
    "Receive Error": "receive_error",
    "Timeout Reversal": "timeout_reversal",
    "BAD MAC": "bad_mac",
    "FAILURE ON ALL COMS": "failure_on_all_coms",
    "BATCH FULL": "batch_full",
}


def test_every_row_of_the_research_table_has_a_screen_message() -> None:
    rows = {r for s in all_screens() for r in s.rows}
    assert rows == set(range(1, 72))


def test_every_cause_a_message_points_at_is_in_the_doctors_catalog() -> None:
    unknown = {(s.id, c) for s in all_screens() for c in s.factors if c not in BY_ID}
    assert unknown == set()


def test_every_message_has_a_stable_id_a_text_a_meaning_and_a_source() -> None:
    for s in all_screens():
        assert SNAKE.match(s.id), s.id
        assert s.texts and s.source and s.seen, s.id
        assert re.search(r"[\u4e00-\u9fff]", s.meaning.zh), s.id
        assert re.search(r"[a-z]{3,} [a-z]{2,}", s.meaning.en), s.id  # English words


def test_no_text_is_claimed_by_two_messages() -> None:
    owner: dict[str, str] = {}
    for s in all_screens():
        for text in s.texts:
            key = normalize.fold(text)
            assert owner.setdefault(key, s.id) == s.id, (text, owner[key], s.id)


def test_specific_messages_point_somewhere_and_generic_ones_stay_weak() -> None:
    for s in all_screens():
        assert s.factors, s.id
        assert all(0 < f <= 1000 for f in s.factors.values()), s.id
        if s.generic:  # "结算失败" says that settlement failed, not why
            assert all(0.2 <= f <= 3 for f in s.factors.values()), s.id
        else:  # moves some cause by a factor of 4 or more, for or against
            assert max(s.factors.values()) >= 4 or min(s.factors.values()) <= 0.25, s.id


def test_the_settlement_failed_messages_are_generic() -> None:
    assert screen("settlement_failed").generic
    assert screen("transaction_failed").generic
    assert {"结算失败", "SETTLEMENT FAILED"} <= set(screen("settlement_failed").texts)


@pytest.mark.parametrize(("text", "screen_id"), ENGLISH_TERMINALS.items())
def test_the_english_terminal_strings_are_in_the_file(text: str, screen_id: str) -> None:
    assert text.casefold() in {t.casefold() for t in screen(screen_id).en}


def test_codes_are_given_only_where_the_message_stands_for_a_cup_code() -> None:
    codes = {s.id: s.code for s in all_screens() if s.code}
    assert codes["mac_error"] == "A0" and codes["terminal_unregistered"] == "97"
    assert codes["day_cutover"] == "90" and codes["duplicate_transaction"] == "94"
    # an acquirer's own 90/91 (program / parameters to update) is not CUP's
    assert "program_update_needed" not in codes and "params_update_needed" not in codes


def test_an_unknown_screen_id_is_refused() -> None:
    with pytest.raises(UnknownIdError, match="no_such_screen"):
        screen("no_such_screen")


_GOOD = """
[not_a_cause]
words = ["经济"]
places = []
en = "not a cause"
zh = "不是原因"

[screen.one]
rows = [1]
zh = ["结算失败"]
en = []
meaning = { en = "failed", zh = "失败" }
seen = "[LY]"
source = ["Src/main.c"]
factors = { "network.unstable" = 2.0 }
"""


def test_a_good_file_parses() -> None:
    screens, rule = parse(_GOOD)
    assert [s.id for s in screens] == ["one"] and rule.words == ("经济",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('"network.unstable" = 2.0', '"network.unstable" = 0.0'),
            "[screen.one.factors] network.unstable: must be between",
        ),
        (
            ('"network.unstable" = 2.0', '"network.slow" = 2.0'),
            "[screen.one.factors] network.slow: is not a cause of the doctor's catalog",
        ),
        (('source = ["Src/main.c"]', "source = []"), "[screen.one] source: needs at least one"),
        (("rows = [1]", "rows = [72]"), "[screen.one] rows: [72] are not rows"),
        (('seen = "[LY]"', 'seen = "[LY]"\ncolour = "red"'), "[screen.one] colour: unknown key"),
        (('seen = "[LY]"', 'seen = "[LY]"\ncode = "A"'), "[screen.one] code: 'A' is not"),
        (('zh = ["结算失败"]', "zh = []"), "[screen.one] zh: needs at least one text"),
        (('zh = ["结算失败"]', 'zh = "结算失败"'), "[screen.one] zh: must be a list"),
        (
            ('meaning = { en = "failed", zh = "失败" }', 'meaning = { en = "failed" }'),
            "[screen.one.meaning] zh: must be a non-empty string",
        ),
        (('en = "not a cause"', ""), "[not_a_cause] en: must be a non-empty string"),
        (("[screen.one]", "[screen.one"), "not valid TOML"),
    ],
)
def test_a_broken_file_is_refused_naming_the_file_the_table_and_the_key(
    change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in _GOOD
    with pytest.raises(DataFileError) as caught:
        parse(_GOOD.replace(old, new), "screens.toml")
    assert str(caught.value).startswith("support/data/screens.toml")
    assert message in str(caught.value)

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from possettle.crypto.keys import Key
from possettle.errors import ConfigError
from possettle.upstream import AuthKind, CardState, RulesError, load_rules, parse_rules
from possettle.upstream.rules import Card, Defaults, Outage, Rule, Rules
from tests.upstream.upstream_support import PAN

EXAMPLE = f"""
[defaults]
balance = 100000000      # minor units
pin = "123456"

[[cards]]
pan = "{PAN}"
balance = 5000
state = "lost"
pin = "654321"

[[rules]]
pan_prefix = "4"
min_amount = 500000
response = "61"

[[rules]]
kind = "sale"
tid = "T0000001"
latency_ms = 300

[[outages]]
start = "23:00"
end = "23:30"
response = "91"

[[outages]]
start = 01:00:00
end = "01:05"
no_reply = true
"""


def test_the_documented_example_parses_into_its_tables() -> None:
    rules = parse_rules(EXAMPLE)
    assert rules == Rules(
        defaults=Defaults(100_000_000, "123456"),
        cards={PAN: Card(PAN, 5000, CardState.LOST, "654321")},
        rules=(
            Rule(pan_prefix="4", min_amount=500_000, response="61"),
            Rule(kind=AuthKind.SALE, tid="T0000001", latency_ms=300),
        ),
        outages=(
            Outage(time(23, 0), time(23, 30), response="91"),
            Outage(time(1, 0), time(1, 5), no_reply=True),
        ),
    )


def test_an_empty_file_gives_the_default_rules() -> None:
    assert parse_rules("") == Rules()


def test_a_card_repr_masks_the_pan_and_hides_the_pin() -> None:
    text = repr(parse_rules(EXAMPLE).cards[PAN])
    assert PAN not in text
    assert "654321" not in text
    assert "622202*********0128" in text


def test_load_rules_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert load_rules(path) == parse_rules(EXAMPLE)


def test_a_missing_rules_file_is_a_rules_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(RulesError, match=rf"^{path}: cannot read the rules file: .*No such file"):
        load_rules(path)


def test_a_rules_error_is_also_a_config_error() -> None:
    with pytest.raises(ConfigError):
        parse_rules("nonsense = 1")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[[rules]]\nresponse = "00"\n[[rules]]\nresponse = "00"\n[[rules]]\nresponse = "5"',
            "rules.toml: rules[2].response: '5' is not a 2-character response code",
        ),
        (
            "colour = 1",
            "rules.toml: colour: unknown key "
            "(expected one of: issuer, defaults, cards, rules, outages, state_file)",
        ),
        (
            '[issuer]\nzpk = "0123456789ABCDEF"',
            "rules.toml: issuer.zpk: is not a double- or triple-length 3DES key "
            "(32 or 48 hex digits)",
        ),
        (
            '[issuer]\nzpk = "0123456789ABCDEFFEDCBA987654321G"',
            "rules.toml: issuer.zpk: is not a double- or triple-length 3DES key "
            "(32 or 48 hex digits)",
        ),
        ("[issuer]\nzpk = 12", "rules.toml: issuer.zpk: expected a string, got int"),
        ('[issuer]\npik = "00"', "rules.toml: issuer.pik: unknown key (expected one of: zpk)"),
        (
            "[defaults]\nbalanse = 1",
            "rules.toml: defaults.balanse: unknown key (expected one of: balance, pin)",
        ),
        ("defaults = 3", "rules.toml: defaults: expected a table"),
        (
            "[defaults]\nbalance = 1.5",
            "rules.toml: defaults.balance: expected an integer count of minor units, got 1.5",
        ),
        (
            "[defaults]\nbalance = true",
            "rules.toml: defaults.balance: expected an integer count of minor units, got True",
        ),
        (
            "[defaults]\nbalance = -1",
            "rules.toml: defaults.balance: -1 is outside 0..999999999999 minor units",
        ),
        ('[defaults]\npin = "12"', "rules.toml: defaults.pin: is not a PIN of 4 to 12 digits"),
        ("[defaults]\npin = 1234", "rules.toml: defaults.pin: expected a string, got int"),
        ('[cards]\npan = "1"', "rules.toml: cards: expected an array of tables ([[cards]])"),
        ("[[cards]]\nbalance = 1", "rules.toml: cards[0].pan: is required"),
        ('[[cards]]\npan = "12345"', "rules.toml: cards[0].pan: is not a PAN of 12 to 19 digits"),
        (
            f'[[cards]]\npan = "{PAN}"\nstate = "stolen"',
            "rules.toml: cards[0].state: 'stolen' is not one of active|expired|lost|frozen",
        ),
        (
            f'[[cards]]\npan = "{PAN}"\ncolor = 1',
            "rules.toml: cards[0].color: unknown key (expected one of: pan, balance, state, pin)",
        ),
        (
            f'[[cards]]\npan = "{PAN}"\n[[cards]]\npan = "{PAN}"',
            "rules.toml: cards[1].pan: '622202*********0128' is listed twice in [[cards]]",
        ),
        (
            '[[rules]]\npan_prefix = "4"',
            "rules.toml: rules[0]: a rule needs response, latency_ms, no_reply = true, "
            "lost_reply = true or reversal_no_reply",
        ),
        (
            '[[rules]]\npan_prefix = "4x"\nresponse = "05"',
            "rules.toml: rules[0].pan_prefix: '4x' is not a prefix of 1 to 19 digits",
        ),
        (
            '[[rules]]\npan = "4111"\nresponse = "05"',
            "rules.toml: rules[0].pan: is not a PAN of 12 to 19 digits",
        ),
        (
            '[[rules]]\nkind = "purchase"\nresponse = "05"',
            "rules.toml: rules[0].kind: 'purchase' is not one of sale|void|refund|offline|balance",
        ),
        (
            '[[rules]]\ntid = "123456789"\nresponse = "05"',
            "rules.toml: rules[0].tid: '123456789' is not a terminal id of 1 to 8 characters",
        ),
        (
            '[[rules]]\nmin_amount = 10\nmax_amount = 5\nresponse = "05"',
            "rules.toml: rules[0].max_amount: 5 is below min_amount 10",
        ),
        (
            "[[rules]]\nresponse = 5",
            "rules.toml: rules[0].response: 5 is not a 2-character response code",
        ),
        (
            '[[rules]]\nresponse = "ab"',
            "rules.toml: rules[0].response: 'ab' is not a 2-character response code",
        ),
        (
            "[[rules]]\nlatency_ms = -1",
            "rules.toml: rules[0].latency_ms: -1 is not a whole number of milliseconds (0..600000)",
        ),
        (
            "[[rules]]\nlatency_ms = 0.5",
            "rules.toml: rules[0].latency_ms: 0.5 is not a whole "
            "number of milliseconds (0..600000)",
        ),
        (
            '[[rules]]\nno_reply = "yes"',
            "rules.toml: rules[0].no_reply: expected true or false, got 'yes'",
        ),
        (
            '[[rules]]\nno_reply = true\nresponse = "96"',
            "rules.toml: rules[0].no_reply: cannot be combined with response",
        ),
        (
            '[[rules]]\nmatch = 1\nresponse = "96"',
            "rules.toml: rules[0].match: unknown key "
            "(expected one of: pan, pan_prefix, min_amount, max_amount, kind, tid, response, "
            "latency_ms, no_reply, lost_reply, reversal_no_reply)",
        ),
        (
            "[[rules]]\nlost_reply = true\nno_reply = true",
            "rules.toml: rules[0].lost_reply: cannot be combined with response or no_reply",
        ),
        (
            "[[rules]]\nreversal_no_reply = -1",
            "rules.toml: rules[0].reversal_no_reply: -1 is not a count of attempts (0..100)",
        ),
        (
            'state_file = ""',
            "rules.toml: state_file: is empty",
        ),
        (
            '[[outages]]\nend = "23:30"\nresponse = "91"',
            "rules.toml: outages[0].start: is required",
        ),
        (
            '[[outages]]\nstart = "24:00"\nend = "23:30"\nresponse = "91"',
            "rules.toml: outages[0].start: '24:00' is not a time of day HH:MM",
        ),
        (
            '[[outages]]\nstart = "23:00"\nend = "23:00"\nresponse = "91"',
            "rules.toml: outages[0].end: equals start: an outage window cannot be empty",
        ),
        (
            '[[outages]]\nstart = "23:00"\nend = "23:30"',
            "rules.toml: outages[0]: an outage needs response or no_reply = true",
        ),
        (
            '[[outages]]\nstart = "23:00"\nend = "23:30"\nlatency_ms = 5',
            "rules.toml: "
            "outages[0].latency_ms: unknown key (expected one of: start, end, response, "
            "no_reply)",
        ),
        (
            '[[rules]]\nresponse = "00"\n[[rules]\n',
            "rules.toml: not valid TOML: "
            "Expected ']]' at the end of an array declaration (at line 3, column 8)",
        ),
    ],
)
def test_every_bad_key_is_a_rules_error_naming_file_table_and_key(toml: str, message: str) -> None:
    with pytest.raises(RulesError) as info:
        parse_rules(toml)
    assert str(info.value) == message


def test_a_bad_card_pin_is_not_echoed_in_the_error() -> None:
    with pytest.raises(RulesError) as info:
        parse_rules(f'[[cards]]\npan = "{PAN}"\npin = "98765432109876"')
    assert "98765432109876" not in str(info.value)


def test_the_issuer_table_names_the_zone_pin_key() -> None:
    rules = parse_rules('[issuer]\nzpk = "0123456789abcdefFEDCBA9876543210"\n' + EXAMPLE)
    assert rules.zpk == Key.from_hex("0123456789ABCDEFFEDCBA9876543210")
    assert "0123456789" not in repr(rules)
    assert parse_rules(EXAMPLE).zpk is None


def test_a_bad_zpk_is_not_echoed_in_the_error() -> None:
    with pytest.raises(RulesError) as info:
        parse_rules('[issuer]\nzpk = "0123456789ABCDEFFEDCBA98765432"')
    assert "0123456789ABCDEF" not in str(info.value)


def test_the_readme_example_rules_file_parses() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Issuer simulator rules file", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    rules = parse_rules(example, "README.md")
    assert rules.zpk == Key.from_hex("0123456789ABCDEFFEDCBA9876543210")
    assert rules.cards[PAN].pin == "654321" and len(rules.rules) == 4 and len(rules.outages) == 1
    assert rules.rules[3].lost_reply and rules.rules[3].reversal_no_reply == 1


def test_every_fault_in_the_file_is_named_at_once() -> None:
    toml = '[defaults]\npin = "12"\n[[rules]]\nresponse = "5"\n[[outages]]\nstart = "25:00"'
    with pytest.raises(RulesError) as info:
        parse_rules(toml)
    assert str(info.value).split("; ") == [
        "rules.toml: defaults.pin: is not a PIN of 4 to 12 digits",
        "rules.toml: rules[0].response: '5' is not a 2-character response code",
        "rules.toml: outages[0].start: '25:00' is not a time of day HH:MM",
        "rules.toml: outages[0].end: is required",
    ]

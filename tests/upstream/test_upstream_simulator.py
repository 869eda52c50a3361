from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from possettle.clock import FixedClock
from possettle.crypto.pin import encrypt_pin_block
from possettle.logs import configure_logging
from possettle.upstream import (
    AuthKind,
    SimulatorConnector,
    UpstreamTimeout,
    UpstreamUnavailable,
    parse_rules,
)
from possettle.upstream.connector import AuthRequest, AuthResult, UpstreamReversal
from possettle.upstream.simulator import SimulatorBooks
from tests.upstream.upstream_support import PAN, ZPK, MakeRequest

T = 1.0  # timeout for requests that are answered at once


def sim(clock: FixedClock, toml: str = "", source: str = "rules.toml") -> SimulatorConnector:
    """A simulator sharing :data:`ZPK` with the tests (``make_request(pin=...)`` uses it)."""
    return SimulatorConnector(clock, dataclasses.replace(parse_rules(toml, source), zpk=ZPK))


async def reverse(s: SimulatorConnector, req: AuthRequest, reason: str = "98") -> AuthResult:
    return await s.send_reversal(UpstreamReversal(s.describe(req), reason), T)


async def test_a_valid_card_is_approved_with_a_six_digit_auth_code_and_debited(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock)
    result = await s.authorize(make_request(amount=12_345), T)
    assert result.response_code == "00"
    assert result.auth_code is not None and len(result.auth_code) == 6
    assert result.auth_code.isdigit()
    assert s.balance(PAN) == 100_000_000 - 12_345


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"pan": "6222021234567890127"}, "14"),
        ({"pan": "62220212"}, "14"),
        ({"expiry": "2610"}, "54"),
        ({"expiry": "2613"}, "54"),
        ({"expiry": "2611"}, "00"),
        ({"expiry": None}, "00"),
        ({"pin": "123456"}, "00"),
        ({"pin": "111111"}, "55"),
        ({"amount": 100_000_000}, "00"),
        ({"amount": 100_000_001}, "51"),
    ],
)
async def test_default_rules_decide_by_luhn_expiry_pin_and_balance(
    clock: FixedClock, make_request: MakeRequest, changes: dict[str, object], code: str
) -> None:
    if "amount" in changes:
        req = make_request(amount=changes.pop("amount"), **changes)
    else:
        req = make_request(**changes)
    assert (await sim(clock).authorize(req, T)).response_code == code


async def test_a_declined_sale_has_no_auth_code_and_no_effect(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock)
    result = await s.authorize(make_request(pin="000000"), T)
    assert (result.response_code, result.auth_code) == ("55", None)
    assert s.balance(PAN) == 100_000_000


@pytest.mark.parametrize(("state", "code"), [("expired", "54"), ("lost", "41"), ("frozen", "62")])
async def test_card_states_refuse_with_their_codes(
    clock: FixedClock, make_request: MakeRequest, state: str, code: str
) -> None:
    s = sim(clock, f'[[cards]]\npan = "{PAN}"\nstate = "{state}"\n')
    assert (await s.authorize(make_request(), T)).response_code == code


async def test_a_card_balance_and_pin_override_the_defaults(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock, f'[[cards]]\npan = "{PAN}"\nbalance = 5000\npin = "654321"\n')
    assert (await s.authorize(make_request(amount=5001), T)).response_code == "51"
    assert (await s.authorize(make_request(pin="123456"), T)).response_code == "55"
    assert (await s.authorize(make_request(amount=5000, pin="654321"), T)).response_code == "00"
    assert s.balance(PAN) == 0


async def test_a_void_credits_back_the_original_amount_once(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock)
    sale = make_request(amount=7_000)
    await s.authorize(sale, T)
    void = make_request(AuthKind.VOID, amount=7_000, original_rrn=sale.rrn)
    assert (await s.authorize(void, T)).response_code == "00"
    assert s.balance(PAN) == 100_000_000
    again = make_request(AuthKind.VOID, amount=7_000, original_rrn=sale.rrn)
    assert (await s.authorize(again, T)).response_code == "25"
    assert s.balance(PAN) == 100_000_000


async def test_a_void_of_an_unknown_original_is_refused_with_25(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    void = make_request(AuthKind.VOID, original_rrn="999999999999")
    assert (await sim(clock).authorize(void, T)).response_code == "25"


async def test_reversing_a_void_makes_the_sale_voidable_again(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock)
    sale = make_request(amount=7_000)
    await s.authorize(sale, T)
    void = make_request(AuthKind.VOID, original_rrn=sale.rrn)
    await s.authorize(void, T)
    await reverse(s, void)
    assert s.balance(PAN) == 100_000_000 - 7_000
    retry = make_request(AuthKind.VOID, original_rrn=sale.rrn)
    assert (await s.authorize(retry, T)).response_code == "00"
    assert s.balance(PAN) == 100_000_000


async def test_a_refund_credits_and_an_offline_advice_is_force_posted(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock, f'[[cards]]\npan = "{PAN}"\nbalance = 100\nstate = "frozen"\n')
    offline = make_request(AuthKind.OFFLINE, amount=5_000, pin="000000", expiry="2001")
    assert (await s.authorize(offline, T)).response_code == "00"
    assert s.balance(PAN) == -4_900
    assert (await s.authorize(make_request(AuthKind.REFUND, amount=4_900), T)).approved
    assert s.balance(PAN) == 0


async def test_an_offline_advice_still_needs_a_luhn_valid_card(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    req = make_request(AuthKind.OFFLINE, pan="6222021234567890127")
    assert (await sim(clock).authorize(req, T)).response_code == "14"


async def test_a_balance_inquiry_checks_the_pin_and_changes_nothing(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock)
    assert (await s.authorize(make_request(AuthKind.BALANCE, pin="123456"), T)).approved
    assert (await s.authorize(make_request(AuthKind.BALANCE, pin="1234"), T)).response_code == "55"
    assert s.balance(PAN) == 100_000_000


async def test_a_repeated_rrn_is_answered_94_without_a_second_debit(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock)
    sale = make_request()
    await s.authorize(sale, T)
    assert (await s.authorize(sale, T)).response_code == "94"
    assert s.balance(PAN) == 100_000_000 - 10_000


async def test_reverse_undoes_a_sale_exactly_once(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock)
    sale = make_request(amount=30_000)
    await s.authorize(sale, T)
    assert (await reverse(s, sale)).response_code == "00"
    assert (await reverse(s, sale)).response_code == "00"  # acknowledged again, applied once
    assert s.balance(PAN) == 100_000_000


async def test_reverse_of_an_unknown_rrn_is_a_no_op(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock)
    assert (await reverse(s, make_request())).response_code == "25"  # no such original
    assert s.balance(PAN) == 100_000_000


async def test_a_voided_sale_that_was_reversed_cannot_be_voided(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock)
    sale = make_request()
    await s.authorize(sale, T)
    await reverse(s, sale)
    void = make_request(AuthKind.VOID, original_rrn=sale.rrn)
    assert (await s.authorize(void, T)).response_code == "25"


async def test_rules_are_tried_in_order_and_the_first_match_wins(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(
        clock,
        """
        [[rules]]
        pan_prefix = "4"
        min_amount = 500000
        response = "61"
        [[rules]]
        kind = "refund"
        tid = "REFUND01"
        response = "12"
        [[rules]]
        pan_prefix = "4"
        response = "05"
        """,
    )
    visa = "4111111111111111"
    assert (await s.authorize(make_request(pan=visa, amount=500_000), T)).response_code == "61"
    assert (await s.authorize(make_request(pan=visa, amount=499_999), T)).response_code == "05"
    refund = make_request(AuthKind.REFUND, tid="REFUND01")
    assert (await s.authorize(refund, T)).response_code == "12"
    assert (await s.authorize(make_request(), T)).response_code == "00"


async def test_a_pan_rule_with_max_amount_matches_only_that_card(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock, f'[[rules]]\npan = "{PAN}"\nmax_amount = 100\nresponse = "13"\n')
    assert (await s.authorize(make_request(amount=100), T)).response_code == "13"
    assert (await s.authorize(make_request(amount=101), T)).response_code == "00"
    other = make_request(pan="4111111111111111", amount=100)
    assert (await s.authorize(other, T)).response_code == "00"


async def test_a_latency_rule_delays_the_normal_answer(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock, "[[rules]]\nlatency_ms = 50\n")
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await s.authorize(make_request(), T)
    assert loop.time() - started >= 0.045
    assert result.approved
    assert s.balance(PAN) == 100_000_000 - 10_000


async def test_a_no_reply_rule_waits_for_the_timeout_then_raises(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock, "[[rules]]\nno_reply = true\n")
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(UpstreamTimeout, match=r"no reply within 0\.05s for rrn 000000000001"):
        await s.authorize(make_request(), 0.05)
    assert loop.time() - started >= 0.045


async def test_latency_beyond_the_timeout_is_a_timeout(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock, '[[rules]]\nlatency_ms = 5000\nresponse = "00"\n')
    with pytest.raises(UpstreamTimeout):
        await s.authorize(make_request(), 0.05)


OUTAGES = """
[[outages]]
start = "23:00"
end = "23:30"
response = "91"
[[outages]]
start = "23:50"
end = "00:10"
no_reply = true
"""


@pytest.mark.parametrize(
    ("hhmm", "code"),
    [
        ((22, 59), "00"),
        ((23, 0), "91"),
        ((23, 29), "91"),
        ((23, 30), "00"),
        ((23, 55), None),
        ((0, 5), None),
        ((0, 10), "00"),
    ],
)
async def test_outage_windows_follow_the_clock_and_may_cross_midnight(
    make_request: MakeRequest, hhmm: tuple[int, int], code: str | None
) -> None:
    s = sim(FixedClock(datetime(2026, 11, 26, *hhmm, tzinfo=UTC)), OUTAGES)
    if code is None:
        with pytest.raises(UpstreamTimeout):
            await s.authorize(make_request(), 0.01)
    else:
        assert (await s.authorize(make_request(), T)).response_code == code


async def test_an_outage_starts_when_the_clock_reaches_it(make_request: MakeRequest) -> None:
    clock = FixedClock(datetime(2026, 11, 26, 22, 59, 30, tzinfo=UTC))
    s = sim(clock, OUTAGES)
    assert (await s.authorize(make_request(), T)).approved
    clock.advance(30)
    assert (await s.authorize(make_request(), T)).response_code == "91"


async def test_a_closed_simulator_is_unavailable(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock)
    await s.start()
    await s.aclose()
    with pytest.raises(UpstreamUnavailable):
        await s.authorize(make_request(), T)


async def test_the_pin_block_is_verified_under_the_simulators_own_zpk(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = SimulatorConnector(clock)  # no ZPK in the rules: it makes up its own
    assert s.zpk is not None and s.zpk != ZPK
    assert (await s.authorize(make_request(pin="123456", zpk=s.zpk), T)).approved
    assert (await s.authorize(make_request(pin="654321", zpk=s.zpk), T)).response_code == "55"
    # The right PIN under another key is no PIN the issuer can read: 55, nothing debited.
    assert (await s.authorize(make_request(pin="123456"), T)).response_code == "55"
    assert s.balance(PAN) == 100_000_000 - 10_000


@pytest.mark.parametrize(
    "block",
    [bytes(8), encrypt_pin_block(ZPK, "123456", "6222021234567891128"), b"\x01" * 7],
    ids=["garbage", "other-card", "short"],
)
async def test_a_pin_block_that_does_not_decode_is_a_wrong_pin(
    clock: FixedClock, make_request: MakeRequest, block: bytes
) -> None:
    s = sim(clock)
    assert (await s.authorize(make_request(pin_block=block), T)).response_code == "55"
    assert s.balance(PAN) == 100_000_000


async def test_the_simulator_logs_key_value_events_through_structlog(
    clock: FixedClock, make_request: MakeRequest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # the level is the test's own: a host or command earlier in this process may have set INFO
    configure_logging(level=logging.DEBUG)
    s = sim(clock, "[[rules]]\nmax_amount = 1\nno_reply = true\n")
    sale = make_request()
    with capture_logs() as events:
        await s.authorize(sale, T)
        await reverse(s, sale)
        with pytest.raises(UpstreamTimeout):
            await s.authorize(make_request(amount=1), 0.01)
    assert [e["event"] for e in events] == ["sim approved", "sim reversed", "sim no reply"]
    assert events[0] | {"log_level": "info"} == {
        "event": "sim approved",
        "log_level": "info",
        "issuer": "sim",
        "kind": "sale",
        "pan": "622202*********0128",
        "rrn": sale.rrn,
    }
    assert events[1]["reason"] == "98" and events[1]["rrn"] == sale.rrn
    assert not [r for r in caplog.records if r.name.startswith("possettle.upstream")]


async def test_a_lost_reply_debits_the_card_and_times_out_in_doubt(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock, "[[rules]]\nmin_amount = 5000\nlost_reply = true\n")
    sale = make_request(amount=5_000)
    with pytest.raises(UpstreamTimeout) as info:
        await s.authorize(sale, 0.01)
    assert info.value.sent == s.describe(sale)
    assert s.balance(PAN) == 100_000_000 - 5_000  # the issuer acted; the host never heard
    assert (await reverse(s, sale)).approved
    assert s.balance(PAN) == 100_000_000


async def test_reversal_no_reply_leaves_the_first_attempts_unanswered(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    s = sim(clock, "[[rules]]\nmin_amount = 5000\nlost_reply = true\nreversal_no_reply = 2\n")
    sale = make_request(amount=5_000)
    with pytest.raises(UpstreamTimeout):
        await s.authorize(sale, 0.01)
    reversal = UpstreamReversal(s.describe(sale), "98")
    for _ in range(2):
        with pytest.raises(UpstreamTimeout):
            await s.send_reversal(reversal, 0.01)
    assert s.balance(PAN) == 100_000_000 - 5_000
    assert (await s.send_reversal(reversal, 0.01)).approved
    assert s.balance(PAN) == 100_000_000
    assert s.received(sale.rrn) == {"auth": 1, "reversal": 3}


async def test_a_state_file_keeps_the_issuers_books_across_restarts(
    clock: FixedClock, make_request: MakeRequest, tmp_path: Path
) -> None:
    rules = f'state_file = "books.json"\n[[cards]]\npan = "{PAN}"\nbalance = 50000\n'
    first = sim(clock, rules, str(tmp_path / "rules.toml"))
    sale = make_request(amount=20_000)
    assert (await first.authorize(sale, T)).approved
    second = sim(clock, rules, str(tmp_path / "rules.toml"))  # the host process restarted
    assert second.balance(PAN) == 30_000
    assert (await reverse(second, sale)).approved
    books = SimulatorBooks.read(tmp_path / "books.json")
    assert books.balance(PAN, 50_000) == 50_000
    assert books.received == {sale.rrn: {"auth": 1, "reversal": 1}}
    assert PAN not in (tmp_path / "books.json").read_text()  # cards are kept by a hash

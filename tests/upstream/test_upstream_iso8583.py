from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from possettle.clock import FixedClock
from possettle.upstream import (
    AuthKind,
    AuthResult,
    Iso8583Connector,
    RetryPolicy,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.upstream.fake_issuer import Close, Drop, FakeIssuer, Raw, Reply, clear_pin, encode_body
from tests.upstream.upstream_support import PAN, ZPK, MakeRequest

FAST = 0.2  # seconds: the budget of a request the fake issuer is meant to miss
NO_JITTER = RetryPolicy(initial=0.02, factor=2, maximum=0.1, jitter=0)


@pytest.fixture
async def issuer() -> AsyncIterator[FakeIssuer]:
    async with FakeIssuer() as fake:
        yield fake


class Recorder:
    """Records the backoff delays and late replies the connector hands out."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.late: list[tuple[str, AuthResult]] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(seconds)

    def late_reply(self, rrn: str, result: AuthResult) -> None:
        self.late.append((rrn, result))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def connector(
    issuer: FakeIssuer, clock: FixedClock, recorder: Recorder
) -> AsyncIterator[Iso8583Connector]:
    conn = Iso8583Connector(
        "127.0.0.1",
        issuer.port,
        clock,
        timeout=FAST,
        zpk=ZPK,
        retry=NO_JITTER,
        sleep=recorder.sleep,
        on_late_reply=recorder.late_reply,
    )
    async with conn:
        yield conn


async def eventually(predicate: Callable[[], bool], within: float = 2.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``within`` seconds."""
    for _ in range(int(within / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"condition still false after {within}s")


async def settle(connector: Iso8583Connector) -> None:
    """Wait until every queued reversal has been acknowledged."""
    await eventually(lambda: not connector.pending_reversals)


async def test_a_sale_is_approved_over_a_real_socket_with_the_documented_fields(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    req = make_request(amount=12_345)
    result = await connector.authorize(req, 1.0)
    assert result == AuthResult("00", "A1B2C3")
    [msg] = issuer.of_type("0200")
    assert msg == {
        "t": "0200",
        "p": msg["p"],
        "2": PAN,
        "3": "000000",
        "4": "000000012345",
        "7": "1126083015",  # the clock's UTC time
        "11": "000001",  # the connector's own STAN, not the terminal's
        "12": "163015",
        "13": "1126",
        "14": "2812",
        "22": "012",
        "37": "000000000001",
        "41": "12345678",
        "42": "123456789012345",
        "49": "156",
    }


@pytest.mark.parametrize(
    ("kind", "mti", "code"),
    [
        (AuthKind.SALE, "0200", "000000"),
        (AuthKind.VOID, "0200", "020000"),
        (AuthKind.REFUND, "0200", "200000"),
        (AuthKind.OFFLINE, "0220", "220000"),
        (AuthKind.BALANCE, "0200", "310000"),
    ],
)
async def test_each_kind_is_sent_with_its_mti_and_processing_code(
    connector: Iso8583Connector,
    issuer: FakeIssuer,
    make_request: MakeRequest,
    kind: AuthKind,
    mti: str,
    code: str,
) -> None:
    assert (await connector.authorize(make_request(kind), 1.0)).approved
    assert [(m["t"], m["3"]) for m in issuer.received] == [(mti, code)]


async def test_a_void_carries_the_original_in_field_90(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    sale = make_request()
    await connector.authorize(sale, 1.0)
    await connector.authorize(make_request(AuthKind.VOID, original_rrn=sale.rrn), 1.0)
    assert issuer.received[1]["90"] == "0200" + "000001" + "1126083015" + "0" * 22


async def test_a_decline_code_is_passed_through_without_an_auth_code(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.actions["0200"] = Reply("51")
    assert await connector.authorize(make_request(), 1.0) == AuthResult("51", None)


async def test_track2_is_sent_with_an_iso_separator(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    await connector.authorize(make_request(track2=PAN + "D28121010000"), 1.0)
    assert issuer.received[0]["35"] == PAN + "=28121010000"


async def test_the_pin_block_goes_into_field_52_unchanged(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    req = make_request(pin="123456")
    assert req.pin_block is not None
    await connector.authorize(req, 1.0)
    assert issuer.received[0]["52"] == req.pin_block.hex().upper()
    # what the issuer reads under its copy of the ZPK, with its own (psec) decoder
    assert clear_pin(ZPK.material, issuer.received[0]["52"], PAN) == "123456"


async def test_an_issuer_that_verifies_pins_approves_the_right_one_and_refuses_others(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    async with (
        FakeIssuer(zpk=ZPK.material, pins={PAN: "246810"}) as issuer,
        Iso8583Connector("127.0.0.1", issuer.port, clock, zpk=ZPK) as conn,
    ):
        assert (await conn.authorize(make_request(pin="246810"), 1.0)).approved
        assert (await conn.authorize(make_request(pin="123456"), 1.0)).response_code == "55"
        garbage = make_request(pin_block=bytes(8))
        assert (await conn.authorize(garbage, 1.0)).response_code == "55"
    assert issuer.pin_checks == [True, False, False]


async def test_without_a_zpk_no_pin_block_is_sent(
    issuer: FakeIssuer, clock: FixedClock, make_request: MakeRequest
) -> None:
    async with Iso8583Connector("127.0.0.1", issuer.port, clock) as conn:
        assert conn.zpk is None
        await conn.authorize(make_request(pin="123456"), 1.0)
    assert "52" not in issuer.received[0]


async def test_a_timeout_raises_and_delivers_a_reversal_with_the_original_stan_and_rrn(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.script["0200"] = [Drop()]
    req = make_request(pin="123456", track2=PAN + "=2812101")
    with pytest.raises(UpstreamTimeout, match=r"no reply within 0\.2s to 0200 stan=000001"):
        await connector.authorize(req, FAST)
    [reversal] = await issuer.wait_for("0400")
    [original] = issuer.of_type("0200")
    assert reversal["11"] == original["11"] == "000001"
    assert reversal["37"] == original["37"] == req.rrn
    assert reversal["39"] == "98"
    assert reversal["90"] == "0200" + "000001" + original["7"] + "0" * 22
    assert {k: reversal[k] for k in ("2", "3", "4", "41", "42", "49")} == {
        k: original[k] for k in ("2", "3", "4", "41", "42", "49")
    }
    assert "35" not in reversal and "52" not in reversal
    await settle(connector)


async def test_a_balance_inquiry_that_times_out_is_not_reversed(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.actions["0200"] = Drop()
    with pytest.raises(UpstreamTimeout):
        await connector.authorize(make_request(AuthKind.BALANCE), FAST)
    assert connector.pending_reversals == ()


async def test_connection_loss_fails_the_pending_request_and_the_next_one_reconnects(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.script["0200"] = [Close()]
    lost = make_request()
    with pytest.raises(UpstreamUnavailable, match="the issuer closed the connection"):
        await connector.authorize(lost, 1.0)
    # The request was written, so the issuer may have acted on it: it is reversed too.
    [reversal] = await issuer.wait_for("0400")
    assert reversal["37"] == lost.rrn
    assert (await connector.authorize(make_request(), 1.0)).approved
    assert issuer.connections == 2


async def test_every_pending_request_fails_when_the_connection_drops(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.script["0200"] = [Drop(), Drop(), Close()]
    results = await asyncio.gather(
        *(connector.authorize(make_request(), 1.0) for _ in range(3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [UpstreamUnavailable] * 3
    await issuer.wait_for("0400", 3)


async def test_a_refused_connection_is_unavailable_and_reverses_nothing(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    issuer = FakeIssuer()
    await issuer.start()
    port = issuer.port
    await issuer.stop()
    async with Iso8583Connector("127.0.0.1", port, clock, timeout=FAST) as conn:
        with pytest.raises(UpstreamUnavailable, match="cannot connect"):
            await conn.authorize(make_request(), 1.0)
        assert conn.pending_reversals == ()


async def test_a_late_approval_goes_to_the_late_reply_handler_and_is_reversed_once(
    connector: Iso8583Connector,
    issuer: FakeIssuer,
    recorder: Recorder,
    make_request: MakeRequest,
) -> None:
    issuer.script["0200"] = [Reply(delay=FAST + 0.15)]
    req = make_request()
    with pytest.raises(UpstreamTimeout):
        await connector.authorize(req, FAST)
    await eventually(lambda: bool(recorder.late))
    assert recorder.late == [(req.rrn, AuthResult("00", "A1B2C3"))]
    await settle(connector)
    assert len(issuer.of_type("0400")) == 1
    assert (await connector.authorize(make_request(), 1.0)).approved


async def test_a_reversal_is_retried_with_backoff_until_the_issuer_returns(
    connector: Iso8583Connector,
    issuer: FakeIssuer,
    recorder: Recorder,
    make_request: MakeRequest,
) -> None:
    issuer.script["0200"] = [Drop()]
    issuer.actions["0400"] = Close()  # attempts meet a dying issuer, then none at all
    req = make_request()
    with pytest.raises(UpstreamTimeout):
        await connector.authorize(req, FAST)
    await issuer.wait_for("0400")
    await issuer.stop()
    await eventually(lambda: len(recorder.delays) >= 4)
    assert connector.pending_reversals == (req.rrn,)
    del issuer.actions["0400"]
    await issuer.start()  # same port
    await settle(connector)
    first, *retries = issuer.of_type("0400")
    assert retries and {r["11"] for r in retries} == {first["11"]} == {"000001"}
    assert {r["37"] for r in retries} == {req.rrn}
    assert recorder.delays[:4] == [0.02, 0.04, 0.08, 0.1]


async def test_a_0410_asking_to_retry_makes_the_reversal_go_again(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.script["0400"] = [Reply("96")]
    sale = make_request()
    await connector.authorize(sale, 1.0)
    await connector.reverse(sale, "A0")
    await settle(connector)
    first, second = issuer.of_type("0400")
    assert first["39"] == second["39"] == "A0"
    assert first["38"] == "A1B2C3"  # the auth code received for the original


async def test_reverse_is_idempotent(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    sale = make_request()
    await connector.authorize(sale, 1.0)
    await connector.reverse(sale, "98")
    await connector.reverse(sale, "98")
    await settle(connector)
    await connector.reverse(sale, "98")
    await asyncio.sleep(0.05)
    assert len(issuer.of_type("0400")) == 1


async def test_reverse_of_a_request_this_connector_never_sent_still_goes_out(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    req = make_request()
    await connector.reverse(req, "98")
    [reversal] = await issuer.wait_for("0400")
    assert reversal["37"] == req.rrn
    assert reversal["2"] == PAN
    await settle(connector)


async def test_a_reply_that_does_not_decode_is_a_protocol_error_for_its_request(
    connector: Iso8583Connector,
    issuer: FakeIssuer,
    make_request: MakeRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = encode_body(
        {"t": "0210", "2": PAN, "11": "000001", "39": "00", "41": "12345678", "42": "M" * 15}
    )
    issuer.script["0200"] = [Raw(good[:-5])]  # field 42 cut short
    with pytest.raises(UpstreamProtocolError, match="field 42"):
        await connector.authorize(make_request(), 1.0)
    assert PAN not in caplog.text
    assert "622202*********0128" in caplog.text
    await settle(connector)
    assert (await connector.authorize(make_request(), 1.0)).approved


async def test_a_reply_without_a_response_code_is_a_protocol_error(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.script["0200"] = [Raw(encode_body({"t": "0210", "11": "000001", "41": "12345678"}))]
    with pytest.raises(UpstreamProtocolError, match="no usable response code"):
        await connector.authorize(make_request(), 1.0)


async def test_an_echo_test_from_the_issuer_is_answered(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    await connector.authorize(make_request(), 1.0)
    await issuer.push({"t": "0800", "7": "1126083015", "11": "000777", "70": "301"})
    [answer] = await issuer.wait_for("0810")
    assert (answer["11"], answer["39"], answer["70"]) == ("000777", "00", "301")


async def test_closing_fails_a_waiting_request_as_unavailable(
    issuer: FakeIssuer, clock: FixedClock, make_request: MakeRequest
) -> None:
    issuer.actions["0200"] = Drop()
    conn = Iso8583Connector("127.0.0.1", issuer.port, clock, timeout=FAST)
    await conn.start()
    waiting = asyncio.create_task(conn.authorize(make_request(), 5.0))
    await issuer.wait_for("0200")
    await conn.aclose()
    with pytest.raises(UpstreamUnavailable, match="closed"):
        await waiting
    with pytest.raises(UpstreamUnavailable, match="closed"):
        await conn.authorize(make_request(), 1.0)


async def test_using_a_connector_before_start_is_a_programming_error(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    conn = Iso8583Connector("127.0.0.1", 9, clock)
    with pytest.raises(RuntimeError, match=r"call start\(\) before"):
        await conn.authorize(make_request(), 1.0)


async def test_no_clear_pan_or_pin_reaches_the_logs(
    connector: Iso8583Connector,
    issuer: FakeIssuer,
    make_request: MakeRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    issuer.script["0200"] = [Drop(), Close()]
    for _ in range(2):
        with pytest.raises((UpstreamTimeout, UpstreamUnavailable)) as info:
            await connector.authorize(make_request(pin="987654"), FAST)
        assert PAN not in str(info.value)
    await connector.authorize(make_request(pin="987654"), 1.0)
    await settle(connector)
    assert "622202*********0128" in caplog.text
    assert PAN not in caplog.text
    assert "987654" not in caplog.text

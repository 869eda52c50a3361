from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from possettle.clock import FixedClock
from possettle.logs import configure_logging
from possettle.upstream import (
    AuthKind,
    AuthResult,
    Iso8583Connector,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from possettle.upstream.connector import LateReply, SentRequest, UpstreamReversal
from tests.upstream.fake_issuer import Close, Drop, FakeIssuer, Raw, Reply, clear_pin, encode_body
from tests.upstream.upstream_support import PAN, ZPK, MakeRequest

FAST = 0.2  # seconds: the budget of a request the fake issuer is meant to miss


@pytest.fixture
async def issuer() -> AsyncIterator[FakeIssuer]:
    async with FakeIssuer() as fake:
        yield fake


class Recorder:
    """Records the late replies the connector hands out."""

    def __init__(self) -> None:
        self.late: list[LateReply] = []

    def late_reply(self, late: LateReply) -> None:
        self.late.append(late)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def connector(
    issuer: FakeIssuer, clock: FixedClock, recorder: Recorder
) -> AsyncIterator[Iso8583Connector]:
    conn = Iso8583Connector(
        "127.0.0.1", issuer.port, clock, timeout=FAST, zpk=ZPK, on_late_reply=recorder.late_reply
    )
    async with conn:
        yield conn


class Logs:
    """What the process logs to stderr (structlog, JSON lines, through the masking processor)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._seen = ""

    def getvalue(self) -> str:
        self._seen += self._capsys.readouterr().err
        return self._seen

    def events(self) -> list[dict[str, object]]:
        lines = self.getvalue().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Logs:
    configure_logging(json_lines=True, level=logging.DEBUG)
    return Logs(capsys)


async def eventually(predicate: Callable[[], bool], within: float = 2.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``within`` seconds."""
    for _ in range(int(within / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"condition still false after {within}s")


async def timed_out(connector: Iso8583Connector, req: object) -> SentRequest:
    """Authorize ``req`` expecting no reply; what the connector says it sent."""
    with pytest.raises(UpstreamTimeout) as info:
        await connector.authorize(req, FAST)  # type: ignore[arg-type]
    assert info.value.sent is not None
    return info.value.sent


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


async def test_a_timeout_says_what_was_sent_and_its_reversal_keeps_the_original_stan_and_rrn(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.script["0200"] = [Drop()]
    req = make_request(pin="123456", track2=PAN + "=2812101")
    with pytest.raises(UpstreamTimeout, match=r"no reply within 0\.2s to 0200 stan=000001") as info:
        await connector.authorize(req, FAST)
    sent = info.value.sent
    assert sent is not None and sent.rrn == req.rrn and info.value.in_doubt
    assert "35" not in sent.message and "52" not in sent.message  # never kept, not even sealed
    answer = await connector.send_reversal(UpstreamReversal(sent, "98"), 1.0)
    assert answer == AuthResult("00", None)
    [reversal] = issuer.of_type("0400")
    [original] = issuer.of_type("0200")
    assert reversal["11"] == original["11"] == "000001"
    assert reversal["37"] == original["37"] == req.rrn
    assert reversal["39"] == "98"
    assert reversal["90"] == "0200" + "000001" + original["7"] + "0" * 22
    assert {k: reversal[k] for k in ("2", "3", "4", "41", "42", "49")} == {
        k: original[k] for k in ("2", "3", "4", "41", "42", "49")
    }
    assert "35" not in reversal and "52" not in reversal


async def test_the_connector_keeps_no_reversal_queue_of_its_own(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.actions["0200"] = Drop()
    await timed_out(connector, make_request())
    await asyncio.sleep(0.3)
    assert issuer.of_type("0400") == []  # the host's durable sender decides, not the connector


async def test_describe_is_what_authorize_sends_even_when_time_has_passed(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest, clock: FixedClock
) -> None:
    req = make_request(track2=PAN + "D2812101")
    described = connector.describe(req)
    clock.advance(30)
    assert connector.describe(req) == described
    await connector.authorize(req, 1.0)
    [sent] = issuer.of_type("0200")
    assert {k: v for k, v in sent.items() if k not in ("p", "35")} == dict(described.message)


async def test_a_balance_inquiry_that_times_out_is_not_in_doubt(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.actions["0200"] = Drop()
    with pytest.raises(UpstreamTimeout) as info:
        await connector.authorize(make_request(AuthKind.BALANCE), FAST)
    assert info.value.sent is None and not info.value.in_doubt


async def test_connection_loss_fails_the_pending_request_in_doubt_and_the_next_one_reconnects(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.script["0200"] = [Close()]
    lost = make_request()
    with pytest.raises(UpstreamUnavailable, match="the issuer closed the connection") as info:
        await connector.authorize(lost, 1.0)
    # The request was written, so the issuer may have acted on it: it must be reversed.
    assert info.value.sent is not None and info.value.sent.rrn == lost.rrn
    assert (await connector.authorize(make_request(), 1.0)).approved
    assert issuer.connections == 2


async def test_every_pending_request_fails_in_doubt_when_the_connection_drops(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.script["0200"] = [Drop(), Drop(), Close()]
    results = await asyncio.gather(
        *(connector.authorize(make_request(), 1.0) for _ in range(3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [UpstreamUnavailable] * 3
    assert all(r.in_doubt for r in results if isinstance(r, UpstreamUnavailable))


async def test_a_refused_connection_is_unavailable_and_not_in_doubt(
    clock: FixedClock, make_request: MakeRequest
) -> None:
    issuer = FakeIssuer()
    await issuer.start()
    port = issuer.port
    await issuer.stop()
    async with Iso8583Connector("127.0.0.1", port, clock, timeout=FAST) as conn:
        with pytest.raises(UpstreamUnavailable, match="cannot connect") as info:
            await conn.authorize(make_request(), 1.0)
        assert info.value.sent is None
        sent = conn.describe(make_request())
        with pytest.raises(UpstreamUnavailable, match="cannot connect"):
            await conn.send_reversal(UpstreamReversal(sent, "98"), 1.0)


async def test_a_late_approval_goes_to_the_late_reply_handler(
    connector: Iso8583Connector,
    issuer: FakeIssuer,
    recorder: Recorder,
    make_request: MakeRequest,
) -> None:
    issuer.script["0200"] = [Reply(delay=FAST + 0.15)]
    req = make_request()
    await timed_out(connector, req)
    await eventually(lambda: bool(recorder.late))
    assert recorder.late == [LateReply("0210", req.rrn, AuthResult("00", "A1B2C3"))]
    assert (await connector.authorize(make_request(), 1.0)).approved


async def test_a_late_0410_goes_to_the_late_reply_handler_too(
    connector: Iso8583Connector,
    issuer: FakeIssuer,
    recorder: Recorder,
    make_request: MakeRequest,
) -> None:
    issuer.script["0400"] = [Reply(delay=FAST + 0.15)]
    sale = make_request()
    await connector.authorize(sale, 1.0)
    with pytest.raises(UpstreamTimeout):
        await connector.send_reversal(UpstreamReversal(connector.describe(sale), "A0"), FAST)
    await eventually(lambda: bool(recorder.late))
    assert recorder.late == [LateReply("0410", sale.rrn, AuthResult("00", None))]


async def test_a_reversal_attempt_returns_the_issuers_answer_and_retries_nothing_itself(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.script["0400"] = [Reply("96")]
    sale = make_request()
    approved = await connector.authorize(sale, 1.0)
    reversal = UpstreamReversal(connector.describe(sale), "A0", approved.auth_code)
    assert (await connector.send_reversal(reversal, 1.0)).response_code == "96"
    assert (await connector.send_reversal(reversal, 1.0)).response_code == "00"
    first, second = issuer.of_type("0400")
    assert first["39"] == second["39"] == "A0"
    assert first["11"] == second["11"] == issuer.of_type("0200")[0]["11"]
    assert first["38"] == "A1B2C3"  # the auth code received for the original


async def test_an_unanswered_reversal_attempt_is_a_timeout(
    connector: Iso8583Connector, issuer: FakeIssuer, make_request: MakeRequest
) -> None:
    issuer.actions["0400"] = Drop()
    sent = connector.describe(make_request())
    with pytest.raises(UpstreamTimeout, match=r"no reply within 0\.2s to 0400"):
        await connector.send_reversal(UpstreamReversal(sent, "98"), FAST)


async def test_a_reversal_survives_a_restart_as_its_stored_description(
    issuer: FakeIssuer, clock: FixedClock, make_request: MakeRequest
) -> None:
    req = make_request()
    async with Iso8583Connector("127.0.0.1", issuer.port, clock) as first:
        stored = first.describe(req).to_bytes()  # what the host seals in its ledger
        await first.authorize(req, 1.0)
    async with Iso8583Connector("127.0.0.1", issuer.port, clock) as second:
        reversal = UpstreamReversal(SentRequest.from_bytes(stored), "98")
        assert (await second.send_reversal(reversal, 1.0)).approved
    [original] = issuer.of_type("0200")
    [again] = issuer.of_type("0400")
    assert again["90"] == "0200" + original["11"] + original["7"] + "0" * 22
    assert again["37"] == req.rrn and again["2"] == PAN


async def test_a_reply_that_does_not_decode_is_a_protocol_error_for_its_request(
    connector: Iso8583Connector,
    issuer: FakeIssuer,
    make_request: MakeRequest,
    logs: Logs,
) -> None:
    good = encode_body(
        {"t": "0210", "2": PAN, "11": "000001", "39": "00", "41": "12345678", "42": "M" * 15}
    )
    issuer.script["0200"] = [Raw(good[:-5])]  # field 42 cut short
    with pytest.raises(UpstreamProtocolError, match="field 42") as info:
        await connector.authorize(make_request(), 1.0)
    assert info.value.in_doubt
    assert PAN not in logs.getvalue()
    assert "622202*********0128" in logs.getvalue()
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


async def test_the_connector_logs_through_structlog_as_key_value_events(
    connector: Iso8583Connector,
    issuer: FakeIssuer,
    make_request: MakeRequest,
    logs: Logs,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    issuer.script["0200"] = [Drop()]
    req = make_request()
    with pytest.raises(UpstreamTimeout):
        await connector.authorize(req, FAST)
    assert [r for r in caplog.records if r.name.startswith("possettle")] == []
    [event] = [e for e in logs.events() if e["event"] == "upstream no reply"]
    assert event["rrn"] == req.rrn and event["stan"] == "000001" and event["mti"] == "0200"
    assert event["pan"] == "622202*********0128"
    assert event["level"] == "warning"


async def test_no_clear_pan_or_pin_reaches_the_logs(
    connector: Iso8583Connector,
    issuer: FakeIssuer,
    make_request: MakeRequest,
    logs: Logs,
) -> None:
    issuer.script["0200"] = [Drop(), Close()]
    for _ in range(2):
        with pytest.raises((UpstreamTimeout, UpstreamUnavailable)) as info:
            await connector.authorize(make_request(pin="987654"), FAST)
        assert PAN not in str(info.value) and PAN not in repr(info.value.sent)
    await connector.authorize(make_request(pin="987654"), 1.0)
    text = logs.getvalue()
    assert "622202*********0128" in text
    assert PAN not in text
    assert "987654" not in text

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import possettle.upstream
from possettle.clock import FixedClock
from possettle.crypto.keys import Key
from possettle.errors import ConfigError, PossettleError
from possettle.upstream import (
    AuthKind,
    AuthRequest,
    Iso8583Connector,
    RulesError,
    SimulatorConnector,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
    connector_from_spec,
)
from tests.upstream.upstream_support import PAN, MakeRequest


def test_the_public_api_is_pinned() -> None:
    assert sorted(possettle.upstream.__all__) == [
        "AuthKind",
        "AuthRequest",
        "AuthResult",
        "CardState",
        "Iso8583Connector",
        "IssuerConnector",
        "LateReply",
        "RetryPolicy",
        "Rules",
        "RulesError",
        "SentRequest",
        "SimulatorConnector",
        "UpstreamError",
        "UpstreamProtocolError",
        "UpstreamRequestError",
        "UpstreamReversal",
        "UpstreamTimeout",
        "UpstreamUnavailable",
        "connector_from_spec",
        "load_rules",
        "parse_rules",
    ]


def test_the_error_tree_is_rooted_in_possettle_error() -> None:
    for error in (UpstreamTimeout, UpstreamUnavailable, UpstreamProtocolError, RulesError):
        assert issubclass(error, UpstreamError)
    assert issubclass(UpstreamError, PossettleError)
    assert issubclass(RulesError, ConfigError)


def test_the_wire_module_uses_pyiso8583_not_possettle_iso8583() -> None:
    from possettle.upstream import wire

    assert wire.iso_encode.__module__ == "iso8583.encoder"
    assert wire.SPEC["p"]["data_enc"] == "b"  # binary bitmap
    assert wire.SPEC["2"]["data_enc"] == wire.SPEC["4"]["data_enc"] == "ascii"


def test_an_auth_request_repr_masks_the_pan_and_hides_pin_block_and_track2(
    make_request: MakeRequest,
) -> None:
    req = make_request(pin="987654", track2=PAN + "=2812")
    assert req.pin_block is not None
    text = repr(req)
    assert PAN not in text and "2812" not in text.split("rrn")[0]
    assert req.pin_block.hex() not in text.lower() and str(req.pin_block) not in text
    assert "pan='622202*********0128'" in text
    assert "pin_block=<set>" in text and "track2=<set>" in text
    assert str(req) == text


def test_an_auth_request_holds_no_clear_pin() -> None:
    names = {f.name for f in dataclasses.fields(AuthRequest)}
    assert "pin" not in names and "pin_block" in names


async def test_sim_spec_builds_a_simulator_with_default_rules(clock: FixedClock) -> None:
    conn = connector_from_spec("sim", clock)
    assert isinstance(conn, SimulatorConnector)
    assert conn.name == "sim"


async def test_sim_spec_with_a_path_loads_that_rules_file(
    tmp_path: Path, clock: FixedClock, make_request: MakeRequest
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rules]]\nresponse = "05"\n', encoding="utf-8")
    conn = connector_from_spec(f"sim:{path}", clock)
    assert (await conn.authorize(make_request(), 1.0)).response_code == "05"


def test_sim_spec_with_a_bad_rules_file_raises_rules_error(
    tmp_path: Path, clock: FixedClock
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rules]]\nresponse = "5"\n', encoding="utf-8")
    with pytest.raises(RulesError, match=r"rules\[0\]\.response: '5' is not"):
        connector_from_spec(f"sim:{path}", clock)


def test_iso8583_spec_builds_a_connector(clock: FixedClock) -> None:
    conn = connector_from_spec(
        "iso8583://issuer.example:8583?timeout=2.5&zpk=" + "0123456789ABCDEF" * 2, clock
    )
    assert isinstance(conn, Iso8583Connector)
    assert conn.name == "iso8583://issuer.example:8583"
    assert conn.zpk == Key.from_hex("0123456789ABCDEF" * 2)


def test_an_iso8583_spec_without_a_zpk_builds_a_connector_without_one(clock: FixedClock) -> None:
    conn = connector_from_spec("iso8583://issuer.example:8583", clock)
    assert isinstance(conn, Iso8583Connector) and conn.zpk is None


async def test_every_simulator_has_its_own_zpk_unless_the_rules_name_one(
    tmp_path: Path, clock: FixedClock
) -> None:
    a, b = connector_from_spec("sim", clock), connector_from_spec("sim", clock)
    assert a.zpk is not None and b.zpk is not None and a.zpk != b.zpk
    path = tmp_path / "rules.toml"
    path.write_text(f'[issuer]\nzpk = "{"0123456789ABCDEF" * 2}"\n', encoding="utf-8")
    assert connector_from_spec(f"sim:{path}", clock).zpk == Key.from_hex("0123456789ABCDEF" * 2)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "",
            "unknown issuer spec '': expected 'sim', 'sim:/path/rules.toml' "
            "or 'iso8583://HOST:PORT?timeout=5&zpk=HEX'",
        ),
        (
            "simulator",
            "unknown issuer spec 'simulator': expected 'sim', 'sim:/path/rules.toml' "
            "or 'iso8583://HOST:PORT?timeout=5&zpk=HEX'",
        ),
        (
            "http://x:1",
            "unknown issuer spec 'http': expected 'sim', 'sim:/path/rules.toml' "
            "or 'iso8583://HOST:PORT?timeout=5&zpk=HEX'",
        ),
        ("sim:", "issuer spec 'sim:' needs a rules file path after the colon"),
        (
            "iso8583://host",
            "issuer spec iso8583://: expected iso8583://HOST:PORT with a port from 1 to 65535",
        ),
        (
            "iso8583://host:0",
            "issuer spec iso8583://: expected iso8583://HOST:PORT with a port from 1 to 65535",
        ),
        (
            "iso8583://host:99999",
            "issuer spec iso8583://: the port must be a number from 1 to 65535",
        ),
        (
            "iso8583://host:85/x",
            "issuer spec iso8583://: only HOST:PORT and the query ?timeout=&zpk= are allowed",
        ),
        (
            "iso8583://host:85?retries=3",
            "issuer spec iso8583://: unknown option 'retries' (expected timeout or zpk)",
        ),
        (
            "iso8583://host:85?timeout=1&timeout=2",
            "issuer spec iso8583://: option 'timeout' is given more than once",
        ),
        (
            "iso8583://host:85?timeout=soon",
            "issuer spec iso8583://: timeout 'soon' is not a number of seconds",
        ),
        (
            "iso8583://host:85?timeout=0",
            "issuer spec iso8583://: timeout '0' must be above 0 and at most 300",
        ),
        ("iso8583://host:85?zpk=XYZ", "issuer spec iso8583://: zpk is not hexadecimal"),
        (
            "iso8583://host:85?zpk=0123456789ABCDEF",
            "issuer spec iso8583://: zpk must be a "
            "double- or triple-length 3DES key (32 or 48 hex digits), got 16 characters",
        ),
    ],
)
def test_a_bad_spec_is_a_config_error_with_a_clear_message(
    clock: FixedClock, spec: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        connector_from_spec(spec, clock)
    assert str(info.value) == message


def test_a_rejected_spec_never_echoes_the_zpk(clock: FixedClock) -> None:
    secret = "0123456789ABCDEF0123456789ABCDE"  # one digit short
    with pytest.raises(ConfigError) as info:
        connector_from_spec(f"iso8583://host:85?zpk={secret}", clock)
    assert secret not in str(info.value)


def test_auth_kind_values_are_the_documented_strings() -> None:
    assert [k.value for k in AuthKind] == ["sale", "void", "refund", "offline", "balance"]

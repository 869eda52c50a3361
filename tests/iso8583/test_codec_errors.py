from __future__ import annotations

import pytest

from possettle.iso8583 import codec
from possettle.iso8583.errors import DecodeError, EncodeError
from tests.vectors.load import by_name

V = by_name()


def body_of(name: str) -> bytes:
    return bytes.fromhex(V[name]["frame_hex"])[13:]


def test_undefined_bitmap_bit_is_rejected_before_reading_fields() -> None:
    body = bytearray(body_of("echo_request"))
    body[2] |= 0x08  # field 5
    with pytest.raises(DecodeError, match=r"bitmap sets undefined field\(s\) 5: field p pos 2"):
        codec.decode(bytes(body))


def test_secondary_bitmap_bit_is_undefined_in_ps_cup() -> None:
    body = bytearray(body_of("echo_request"))
    body[2] |= 0x80
    with pytest.raises(DecodeError, match="undefined field"):
        codec.decode(bytes(body))


def test_truncated_body_names_the_field_that_ran_out() -> None:
    body = body_of("sale_request")[:30]
    with pytest.raises(DecodeError) as err:
        codec.decode(body)
    assert err.value.field is not None
    assert "pos" in str(err.value)


def test_bad_bcd_in_a_numeric_field_is_a_decode_error() -> None:
    body = bytearray(body_of("echo_request"))
    # field 11 (STAN) follows MTI (2) + bitmap (8): make its first byte non-BCD
    body[10] = 0xAB
    with pytest.raises(DecodeError, match="non-BCD data: field 11"):
        codec.decode(bytes(body))


def test_trailing_bytes_after_the_last_field_are_rejected() -> None:
    with pytest.raises(DecodeError, match="Extra data"):
        codec.decode(body_of("echo_request") + b"\x00")


def test_body_shorter_than_mti_and_bitmap_is_rejected() -> None:
    with pytest.raises(DecodeError, match="shorter than MTI"):
        codec.decode(b"\x08\x20\x00")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"11": "1"}, "message has no MTI: field t"),
        ({"t": "08x0"}, "MTI must be 4 digits"),
        ({"t": "0800", "5": "1"}, "not defined in PS-CUP/1: field 5"),
        ({"t": "0800", "11": "00000A"}, "non-BCD data: field 11"),
        ({"t": "0800", "11": "0000001"}, "field 11"),
        ({"t": "0800", "52": "XYZ"}, "even-length hex string: field 52"),
    ],
)
def test_encode_errors_name_the_field(fields: dict[str, str], message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        codec.encode(fields)


def test_track2_separator_is_the_d_nibble_on_the_wire() -> None:
    msg = {"t": "0200", "35": "6222021234567890128=3012101", "60": "22000001000"}
    body = codec.encode(msg)
    assert bytes.fromhex("6222021234567890128D3012101".ljust(28, "0")) in body
    assert codec.decode(body)["35"] == msg["35"]


def test_fixed_text_fields_are_space_padded() -> None:
    body = codec.encode({"t": "0810", "38": "12"})
    assert codec.decode(body)["38"] == "12    "

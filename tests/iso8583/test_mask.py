from __future__ import annotations

import pytest

from possettle.iso8583 import codec
from possettle.iso8583.errors import DecodeError
from possettle.iso8583.mask import masked, pretty
from tests.cardscan import luhn_numbers
from tests.vectors.load import by_name, load

PAN = load()["keys"]["pan"]
UPLOAD = by_name()["batch_upload"]


def test_pretty_print_of_every_vector_has_no_clear_pan_pin_block_or_keys() -> None:
    for v in load()["vectors"]:
        text = pretty(codec.decode(bytes.fromhex(v["frame_hex"])[13:]))
        assert PAN not in text
        assert luhn_numbers(text) == [], v["name"]
        for secret in ("52", "62"):
            if secret in v["fields"]:
                assert v["fields"][secret] not in text


def test_batch_upload_records_are_shown_with_masked_pans() -> None:
    shown = masked(UPLOAD["fields"])["48"]
    assert "622202*********0128" in shown
    assert PAN not in shown


def test_track2_shows_only_the_masked_pan() -> None:
    assert masked({"t": "0200", "35": PAN + "=3012101"})["35"] == "622202*********0128=****"


def _partial(body: bytes) -> dict[str, str]:
    with pytest.raises(DecodeError) as info:
        codec.decode(body)
    return info.value.partial


def upload_with_mti_032f() -> bytes:
    """The golden batch upload with its MTI changed to 032F (not BCD: the MTI is lost)."""
    body = bytes.fromhex(UPLOAD["frame_hex"])[13:]
    return b"\x03\x2f" + body[2:]


def upload_end_with_records_and_a_trailing_byte() -> bytes:
    """A 0320 with 60.3 = 202 (upload end) whose 48 holds upload records, plus one byte."""
    return codec.encode({**UPLOAD["fields"], "60": "00000001202"}) + b"\x00"


LEAKY_FRAMES = {
    "mti-032F": upload_with_mti_032f,
    "60.3=202-plus-a-byte": upload_end_with_records_and_a_trailing_byte,
}


@pytest.mark.parametrize("make", LEAKY_FRAMES.values(), ids=LEAKY_FRAMES.keys())
def test_a_partial_message_that_fails_to_decode_is_shown_without_card_numbers(
    make: object,
) -> None:
    partial = _partial(make())  # type: ignore[operator]
    assert PAN in partial["48"]  # the raw partial does hold the card number
    safe = masked(partial)
    text = repr(safe) + pretty(partial)
    assert PAN not in text
    assert luhn_numbers(text) == []
    assert safe["48"] == "<82 digits>"  # neither the parser for 60.3 = 202 nor a missing MTI
    assert safe["11"] == "000009" and safe["41"] == "12345678"  # what addresses it stays


@pytest.mark.parametrize(
    ("message", "field", "shown"),
    [
        # settlement totals, parsed in full, are shown as figures
        (
            by_name()["settlement_request"]["fields"],
            "48",
            "domestic: debit 1 for 12345, credit 1 for 5000, result 0; "
            "foreign: debit 0 for 0, credit 0 for 0, result 0",
        ),
        (by_name()["batch_upload_end"]["fields"], "48", "0002"),
        # a 0500 whose 48 is not 62 digits of totals
        ({"t": "0500", "48": PAN + "00", "60": "00000001201"}, "48", "<21 digits>"),
        # a 0200 with a 48 at all: no parser for it
        ({"t": "0200", "48": "1234", "60": "22000001000"}, "48", "<4 digits>"),
        # 60 and 61 with a card number appended after their sub-fields
        ({"t": "0200", "60": "22000001000" + PAN}, "60", "22000001000 <+19 digits>"),
        ({"t": "0200", "61": "000001" + PAN}, "61", "<25 digits>"),
        ({"t": "0200", "61": "0000010000021126"}, "61", "0000010000021126"),
        # free text fields: a card number in them is masked, short known values shown
        ({"t": "0200", "42": "378282246310005"}, "42", "<15 characters, masked>"),
        ({"t": "0210", "44": PAN + "      "}, "44", "<25 characters, masked>"),
        ({"t": "0200", "63": "CUP"}, "63", "CUP"),
        ({"t": "0810", "63": "MINVER=000100"}, "63", "MINVER=000100"),
        ({"t": "0200", "63": "card " + PAN}, "63", "<24 characters>"),
        # card data proper
        ({"t": "0200", "2": PAN}, "2", "622202*********0128"),
        ({"t": "0200", "14": "3012"}, "14", "****"),
        ({"t": "0200", "52": "BDFD42DCF960C8B6"}, "52", "<PIN block, 8 bytes>"),
        ({"t": "0200", "55": "9F2608AABBCCDDEEFF0011"}, "55", "<chip data, 11 bytes>"),
        ({"t": "0820", "62": "7B7D"}, "62", "<2 bytes>"),
        # a field PS-CUP/1 does not define: never shown
        ({"t": "0200", "45": "B" + PAN + "^CARDHOLDER"}, "45", "<31 characters>"),
        ({"t": "0200", "36": PAN}, "36", "<19 characters>"),
        # a value that is Luhn-valid even where its field is otherwise shown as is
        ({"t": "0200", "53": "2600000000000000"}, "53", "<16 characters, masked>"),
        # control bytes from the wire are escaped
        ({"t": "0200", "41": "12\x1b[2J56"}, "41", "12\\x1b[2J56"),
        # ... and an escape's hex digits next to wire digits can make a card number
        ({"t": "0200", "42": "\x1123456789012345"}, "42", "<15 characters, masked>"),
        ({"t": "0210", "37": "\x0000000000000"}, "37", "<12 characters, masked>"),
    ],
)
def test_each_field_is_shown_only_when_known_safe(
    message: dict[str, str], field: str, shown: str
) -> None:
    assert masked(message)[field] == shown


def test_an_mti_that_is_not_four_digits_is_not_shown() -> None:
    assert masked({"t": "02" + PAN})["t"] == "<21 characters>"

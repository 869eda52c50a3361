"""ISO 9564 format 0 PIN blocks under the PIK, translation, and PIN-free errors."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from possettle.crypto import (
    Key,
    Pin,
    PinBlockError,
    check_pin_block,
    decrypt_pin,
    decrypt_pin_value,
    encrypt_pin_block,
    generate_key,
    pin_matches,
    translate_pin_block,
)
from possettle.crypto.des import tdes_encrypt_ecb

from .conftest import MAK, PAN, PIK, PIN

SALE_BLOCK = encrypt_pin_block(PIK, PIN, PAN)
ZPK = Key.from_hex("0123456789ABCDEFFEDCBA9876543210")

PAN_BLOCK = bytes.fromhex("0000123456789012")


def under_pik(clear_hex: str) -> bytes:
    """A hand-made clear format 0 block (before the PAN XOR) encrypted under the PIK."""
    clear = bytes.fromhex(clear_hex)
    return tdes_encrypt_ecb(
        PIK.material, bytes(a ^ b for a, b in zip(clear, PAN_BLOCK, strict=True))
    )


pins = st.text(alphabet="0123456789", min_size=4, max_size=12)
pans = st.text(alphabet="0123456789", min_size=13, max_size=19)


def test_pin_round_trips_through_the_vector_pik() -> None:
    assert decrypt_pin(PIK, SALE_BLOCK, PAN) == PIN


def test_clear_pin_block_is_iso_format_0() -> None:
    # 06 123456 FF..F XOR 0000 + the 12 PAN digits before the check digit (123456789012).
    assert under_pik("06123456FFFFFFFF") == SALE_BLOCK


def test_encrypt_accepts_a_pin_value() -> None:
    assert encrypt_pin_block(PIK, Pin(PIN), PAN) == SALE_BLOCK
    assert decrypt_pin_value(PIK, SALE_BLOCK, PAN) == Pin(PIN)


def test_pin_repr_is_masked() -> None:
    pin = Pin("987654")
    assert repr(pin) == str(pin) == f"{pin}" == "Pin(****)"
    assert "987654" not in repr([pin])


def test_translate_re_encrypts_under_the_new_key() -> None:
    translated = translate_pin_block(PIK, ZPK, SALE_BLOCK, PAN)
    assert translated != SALE_BLOCK
    assert translated == encrypt_pin_block(ZPK, PIN, PAN)
    assert decrypt_pin(ZPK, translated, PAN) == PIN


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Pin("12a456"), "PIN must be ASCII digits only"),
        (lambda: Pin("123"), "PIN is 3 digits, expecting 4 to 12"),
        (lambda: Pin("1234567890123"), "PIN is 13 digits, expecting 4 to 12"),
        (
            lambda: encrypt_pin_block(PIK, "123456", "622202123456"),
            "PAN must be 13 or more digits for PIN format 0, got 12 chars",
        ),
        (
            lambda: encrypt_pin_block(MAK, "123456", PAN),
            "PIN key is 8 bytes, expecting 16 or 24 (3DES)",
        ),
        (lambda: decrypt_pin(PIK, SALE_BLOCK[:7], PAN), "PIN block is 7 bytes, expecting 8"),
        (
            lambda: decrypt_pin(ZPK, SALE_BLOCK, PAN),
            "PIN block is not ISO format 0: control nibble B",
        ),
        (
            lambda: decrypt_pin(PIK, SALE_BLOCK, "6222021234567891128"),
            "PIN block filler after the PIN is not all F (wrong key or PAN?)",
        ),
        (
            lambda: decrypt_pin(PIK, under_pik("16123456FFFFFFFF"), PAN),
            "PIN block is not ISO format 0: control nibble 1",
        ),
        (
            lambda: decrypt_pin(PIK, under_pik("03123FFFFFFFFFFF"), PAN),
            "PIN block gives a PIN length of 3, expecting 4 to 12",
        ),
        (
            lambda: decrypt_pin(PIK, under_pik("0D1234567890123F"), PAN),
            "PIN block gives a PIN length of 13, expecting 4 to 12",
        ),
        (
            lambda: decrypt_pin(PIK, under_pik("061234560FFFFFFF"), PAN),
            "PIN block filler after the PIN is not all F (wrong key or PAN?)",
        ),
        (
            lambda: decrypt_pin(PIK, under_pik("0612A456FFFFFFFF"), PAN),
            "PIN block holds non-decimal PIN nibbles (wrong key or PAN?)",
        ),
    ],
    ids=[
        "pin-not-digits",
        "pin-short",
        "pin-long",
        "pan-short",
        "single-length-pik",
        "block-short",
        "wrong-key",
        "wrong-pan",
        "control-nibble",
        "length-short",
        "length-long",
        "filler",
        "non-decimal",
    ],
)
def test_pin_errors_say_what_is_wrong(call: object, message: str) -> None:
    with pytest.raises(PinBlockError) as exc:
        call()  # type: ignore[operator]
    assert str(exc.value) == message


def test_translate_refuses_a_block_under_another_key() -> None:
    with pytest.raises(PinBlockError, match="not ISO format 0"):
        translate_pin_block(ZPK, PIK, SALE_BLOCK, PAN)


@given(pin=pins, pan=pans)
def test_pin_block_round_trips(pin: str, pan: str) -> None:
    assert decrypt_pin(PIK, encrypt_pin_block(PIK, pin, pan), pan) == pin


@given(pin=pins, pan=pans)
def test_translation_preserves_the_pin(pin: str, pan: str) -> None:
    block = translate_pin_block(PIK, ZPK, encrypt_pin_block(PIK, pin, pan), pan)
    assert decrypt_pin(ZPK, block, pan) == pin


# Every decode refusal, as a pattern: the only variable parts are a nibble and a length.
SAFE_DECODE_ERRORS = re.compile(
    r"PIN block is not ISO format 0: control nibble [0-9A-F]"
    r"|PIN block gives a PIN length of \d{1,2}, expecting 4 to 12"
    r"|PIN block filler after the PIN is not all F \(wrong key or PAN\?\)"
    r"|PIN block holds non-decimal PIN nibbles \(wrong key or PAN\?\)"
)


@given(pin=pins, block=st.binary(min_size=8, max_size=8), pan=pans, other_pan=pans)
def test_no_decode_error_carries_pin_digits(
    pin: str, block: bytes, pan: str, other_pan: str
) -> None:
    # Wrong keys, wrong PANs and garbage blocks: a refusal names the fault, never the digits.
    real = encrypt_pin_block(PIK, pin, pan)
    for key, candidate, candidate_pan in (
        (ZPK, real, pan),
        (PIK, real, other_pan),
        (PIK, block, pan),
    ):
        try:
            decrypt_pin(key, candidate, candidate_pan)
        except PinBlockError as exc:
            assert SAFE_DECODE_ERRORS.fullmatch(str(exc)), str(exc)
            assert exc.__cause__ is None


def test_a_random_pik_round_trips() -> None:
    key = generate_key(16)
    assert decrypt_pin(key, encrypt_pin_block(key, "0000", PAN), PAN) == "0000"


def test_pin_matches_verifies_a_block_against_the_expected_pin() -> None:
    block = encrypt_pin_block(ZPK, PIN, PAN)
    assert pin_matches(ZPK, block, PAN, PIN)
    assert pin_matches(ZPK, block, PAN, Pin(PIN))
    assert not pin_matches(ZPK, block, PAN, "654321")
    assert not pin_matches(ZPK, block, PAN, PIN + "0")


@pytest.mark.parametrize(
    ("block", "pan"),
    [
        (SALE_BLOCK, PAN),  # under the PIK, not the ZPK
        (encrypt_pin_block(ZPK, PIN, PAN), "6222021234567891128"),  # for another card
        (bytes(8), PAN),  # garbage
        (encrypt_pin_block(ZPK, PIN, PAN)[:7], PAN),  # short
    ],
    ids=["other-key", "other-pan", "garbage", "short"],
)
def test_a_block_that_does_not_decode_never_matches(block: bytes, pan: str) -> None:
    assert not pin_matches(ZPK, block, pan, PIN)


def test_pin_matches_refuses_caller_misuse_loudly() -> None:
    block = encrypt_pin_block(ZPK, PIN, PAN)
    with pytest.raises(PinBlockError, match="PIN key is 8 bytes"):
        pin_matches(MAK, block, PAN, PIN)
    with pytest.raises(PinBlockError, match=r"^PIN is 3 digits, expecting 4 to 12$"):
        pin_matches(ZPK, block, PAN, "123")


def test_check_pin_block_accepts_a_good_block_and_names_a_bad_one() -> None:
    check_pin_block(PIK, SALE_BLOCK, PAN)
    with pytest.raises(PinBlockError, match="not ISO format 0"):
        check_pin_block(ZPK, SALE_BLOCK, PAN)


@given(pin=pins, other=pins, pan=pans)
def test_pin_matches_exactly_the_pin_in_the_block(pin: str, other: str, pan: str) -> None:
    block = translate_pin_block(PIK, ZPK, encrypt_pin_block(PIK, pin, pan), pan)
    assert pin_matches(ZPK, block, pan, pin)
    assert pin_matches(ZPK, block, pan, other) == (other == pin)


def test_a_block_under_a_double_length_zpk_is_the_upstream_vector() -> None:
    # The vector the retired upstream/pinblock.py carried: one implementation gives both.
    block = encrypt_pin_block(ZPK, "1234", "5544332211009966")
    assert block.hex().upper() == "24B5254F5321BBC2"

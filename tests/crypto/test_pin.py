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
    decrypt_pin,
    decrypt_pin_value,
    encrypt_pin_block,
    generate_key,
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

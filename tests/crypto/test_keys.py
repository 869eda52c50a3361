"""Keys, check values, key generation and the 0810 field 62."""

from __future__ import annotations

import pytest

from possettle.crypto import (
    Key,
    KeyCheckError,
    KeyMaterialError,
    WorkingKeys,
    check_value,
    decode_field62,
    encode_field62,
    generate_key,
    issue_working_keys,
)

from .conftest import MAK, PIK, TMK

VECTOR_FIELD62 = encode_field62(TMK, WorkingKeys(pik=PIK, mak=MAK))


@pytest.mark.parametrize(
    ("key", "kcv"),
    [
        (PIK, "8D0A74B8"),
        (MAK, "AB7153CA"),
        (TMK, "43C6CCCB"),
    ],
    ids=["pik", "mak", "tmk"],
)
def test_check_value_is_the_key_encrypting_eight_zero_bytes(key: Key, kcv: str) -> None:
    assert check_value(key).hex().upper() == kcv


def test_an_8_byte_key_uses_single_des_for_its_check_value() -> None:
    # 3DES with K·K is DES with K, so a single key and its doubled form agree.
    assert check_value(MAK) == check_value(Key(MAK.material * 2))


def test_from_hex_accepts_lower_case_and_surrounding_whitespace() -> None:
    assert Key.from_hex("  " + PIK.hex().lower() + "\n") == PIK


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ABC", "key hex is 3 characters, expecting 16, 32 or 48"),
        ("", "key hex is 0 characters, expecting 16, 32 or 48"),
        ("5BB5C72CD00B733G", "key hex has a non-hex character at position 15"),
        ("5BB5 72CD00B7338", "key hex has a non-hex character at position 4"),
    ],
)
def test_from_hex_says_what_was_wrong(text: str, message: str) -> None:
    with pytest.raises(KeyMaterialError) as exc:
        Key.from_hex(text)
    assert str(exc.value) == message


def test_from_hex_can_require_odd_parity() -> None:
    # The vector TMK is not parity-adjusted; DES ignores parity, so it is still usable.
    assert not TMK.has_odd_parity
    with pytest.raises(KeyMaterialError, match="do not have odd parity"):
        Key.from_hex(TMK.hex(), require_odd_parity=True)
    assert Key.from_hex(PIK.hex(), require_odd_parity=True) == PIK


@pytest.mark.parametrize(
    ("material", "message"),
    [
        (bytes(7), "key is 7 bytes, expecting 8, 16 or 24"),
        (bytes(32), "key is 32 bytes, expecting 8, 16 or 24"),
        ("0123456789ABCDEF", "key material must be bytes, got str"),
    ],
)
def test_key_refuses_bad_material(material: object, message: str) -> None:
    with pytest.raises(KeyMaterialError) as exc:
        Key(material)  # type: ignore[arg-type]
    assert str(exc.value) == message


@pytest.mark.parametrize("length", [8, 16, 24])
def test_generated_keys_have_the_length_and_odd_parity(length: int) -> None:
    key = generate_key(length)
    assert len(key) == length
    assert key.has_odd_parity
    assert generate_key(length) != key


def test_generate_key_refuses_unsupported_lengths() -> None:
    with pytest.raises(KeyMaterialError, match="cannot generate a 12-byte key"):
        generate_key(12)


@pytest.mark.parametrize(
    "key", [PIK, MAK, TMK, generate_key(24)], ids=["pik", "mak", "tmk", "random24"]
)
def test_repr_and_str_never_show_the_key(key: Key) -> None:
    secret = key.hex()
    for shown in (repr(key), str(key), f"{key}", repr(WorkingKeys(PIK, MAK)), repr([key])):
        assert secret not in shown.upper()
        assert secret[:8] not in shown.upper()
    assert repr(key) == f"Key({len(key)}B kcv={check_value(key).hex().upper()})"


def test_hex_is_the_explicit_opt_in_to_show_a_key() -> None:
    assert MAK.hex() == "5BB5C72CD00B7338"


def test_field_62_is_40_bytes_in_the_protocol_layout() -> None:
    assert len(VECTOR_FIELD62) == 40
    assert VECTOR_FIELD62[16:20] == check_value(PIK)
    assert VECTOR_FIELD62[28:36] == bytes(8)
    assert VECTOR_FIELD62[36:40] == check_value(MAK)


def test_field_62_round_trips_fresh_working_keys() -> None:
    keys, field62 = issue_working_keys(TMK)
    assert len(keys.pik) == 16
    assert len(keys.mak) == 8
    assert decode_field62(TMK, field62) == keys
    assert encode_field62(TMK, keys) == field62


@pytest.mark.parametrize(
    ("offset", "key_name"),
    [(16, "PIK"), (19, "PIK"), (0, "PIK"), (36, "MAK"), (39, "MAK"), (20, "MAK")],
    ids=["pik-kcv", "pik-kcv-last", "pik-cipher", "mak-kcv", "mak-kcv-last", "mak-cipher"],
)
def test_a_corrupted_key_or_check_value_names_the_key(offset: int, key_name: str) -> None:
    data = bytearray(VECTOR_FIELD62)
    data[offset] ^= 0x01
    with pytest.raises(KeyCheckError) as exc:
        decode_field62(TMK, bytes(data))
    assert exc.value.key == key_name
    assert str(exc.value).startswith(f"{key_name} check value mismatch: field 62 says ")


def test_field_62_under_another_tmk_fails_the_pik_check() -> None:
    with pytest.raises(KeyCheckError) as exc:
        decode_field62(generate_key(16), VECTOR_FIELD62)
    assert exc.value.key == "PIK"
    assert exc.value.expected == check_value(PIK)


def test_key_check_error_text_shows_check_values_but_no_keys() -> None:
    data = bytearray(VECTOR_FIELD62)
    data[36] ^= 0xFF
    with pytest.raises(KeyCheckError) as exc:
        decode_field62(TMK, bytes(data))
    text = str(exc.value)
    assert "AB7153CA" in text
    for key in (TMK, PIK, MAK):
        assert key.hex() not in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (VECTOR_FIELD62[:39], "field 62 is 39 bytes, expecting 40 (mode 003 layout)"),
        (VECTOR_FIELD62 + b"\x00", "field 62 is 41 bytes, expecting 40 (mode 003 layout)"),
        (
            VECTOR_FIELD62[:28] + b"\x00" * 7 + b"\x01" + VECTOR_FIELD62[36:],
            "field 62 bytes 28..35 must be zero, got 0000000000000001",
        ),
    ],
)
def test_a_malformed_field_62_is_a_key_material_error(data: bytes, message: str) -> None:
    with pytest.raises(KeyMaterialError) as exc:
        decode_field62(TMK, data)
    assert str(exc.value) == message


def test_field_62_needs_a_double_length_tmk() -> None:
    with pytest.raises(KeyMaterialError, match="TMK is 8 bytes, expecting 16 or 24"):
        encode_field62(MAK, WorkingKeys(PIK, MAK))


@pytest.mark.parametrize(
    ("pik", "mak", "message"),
    [
        (MAK, MAK, "PIK is 8 bytes, expecting 16"),
        (PIK, PIK, "MAK is 16 bytes, expecting 8"),
    ],
)
def test_working_keys_have_protocol_lengths(pik: Key, mak: Key, message: str) -> None:
    with pytest.raises(KeyMaterialError) as exc:
        WorkingKeys(pik=pik, mak=mak)
    assert str(exc.value) == message

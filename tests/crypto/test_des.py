"""DES/3DES wrappers: known answers, key expansion, and no deprecation warnings."""

from __future__ import annotations

import warnings

import pytest
from psec.des import adjust_key_parity
from psec.pinblock import decode_pinblock_iso_0, encode_pinblock_iso_0
from psec.tools import xor

from possettle.crypto import KeyMaterialError, des_encrypt_ecb, tdes_decrypt_ecb, tdes_encrypt_ecb

K1 = bytes.fromhex("0123456789ABCDEF")
K2 = bytes.fromhex("FEDCBA9876543210")


def test_des_matches_the_classic_known_answer() -> None:
    key, plain = bytes.fromhex("133457799BBCDFF1"), bytes.fromhex("0123456789ABCDEF")
    assert des_encrypt_ecb(key, plain) == bytes.fromhex("85E813540F0AB405")


def test_two_key_3des_with_equal_halves_is_single_des() -> None:
    data = bytes(range(16))
    assert tdes_encrypt_ecb(K1 + K1, data) == des_encrypt_ecb(K1, data)


def test_two_key_3des_equals_three_key_3des_with_k1_repeated() -> None:
    data = bytes(range(8))
    assert tdes_encrypt_ecb(K1 + K2, data) == tdes_encrypt_ecb(K1 + K2 + K1, data)


def test_3des_decrypt_inverts_encrypt() -> None:
    data = bytes(range(24))
    assert tdes_decrypt_ecb(K1 + K2, tdes_encrypt_ecb(K1 + K2, data)) == data


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: des_encrypt_ecb(K1 + K2, bytes(8)), "DES key is 16 bytes, expecting 8"),
        (lambda: tdes_encrypt_ecb(K1, bytes(8)), "3DES key is 8 bytes, expecting 16 or 24"),
        (lambda: tdes_decrypt_ecb(K1[:5], bytes(8)), "3DES key is 5 bytes, expecting 16 or 24"),
        (lambda: des_encrypt_ecb(K1, bytes(7)), "ECB data is 7 bytes, expecting a multiple of 8"),
    ],
)
def test_bad_key_or_data_length_is_a_key_material_error(call: object, message: str) -> None:
    with pytest.raises(KeyMaterialError) as exc:
        call()  # type: ignore[operator]
    assert str(exc.value) == message


def test_ciphers_and_the_psec_helpers_we_use_emit_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        des_encrypt_ecb(K1, bytes(8))
        tdes_encrypt_ecb(K1 + K2, bytes(8))
        tdes_decrypt_ecb(K1 + K2 + K1, bytes(8))
        block = encode_pinblock_iso_0("1234", "6222021234567890128")
        assert decode_pinblock_iso_0(block, "6222021234567890128") == "1234"
        assert adjust_key_parity(bytes(8)) == bytes.fromhex("0101010101010101")
        assert xor(b"\x0f", b"\xf0") == b"\xff"

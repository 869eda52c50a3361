"""Pins the public names of possettle.crypto, so a change to them is deliberate."""

from __future__ import annotations

import possettle.crypto
from possettle.errors import PossettleError


def test_public_api_is_exactly_these_names() -> None:
    assert sorted(possettle.crypto.__all__) == [
        "CryptoError",
        "Key",
        "KeyCheckError",
        "KeyFileError",
        "KeyMaterialError",
        "Pin",
        "PinBlockError",
        "Vault",
        "VaultError",
        "WorkingKeys",
        "check_pin_block",
        "check_value",
        "decode_field62",
        "decrypt_pin",
        "decrypt_pin_value",
        "des_encrypt_ecb",
        "encode_field62",
        "encrypt_pin_block",
        "generate_key",
        "issue_working_keys",
        "pin_matches",
        "tdes_decrypt_ecb",
        "tdes_encrypt_ecb",
        "translate_pin_block",
        "unionpay_ecb_mac",
        "verify_mac",
    ]
    for name in possettle.crypto.__all__:
        assert hasattr(possettle.crypto, name)


def test_every_crypto_error_is_a_possettle_error() -> None:
    c = possettle.crypto
    for cls in (c.KeyMaterialError, c.KeyFileError, c.KeyCheckError, c.PinBlockError):
        assert issubclass(cls, c.CryptoError)
    assert issubclass(c.VaultError, c.CryptoError)
    assert issubclass(c.CryptoError, PossettleError)

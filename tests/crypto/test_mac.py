"""The UnionPay ECB MAC: against a literal transcription of §6, and its verify side."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from possettle.crypto import Key, des_encrypt_ecb, generate_key, unionpay_ecb_mac, verify_mac
from possettle.crypto.des import tdes_encrypt_ecb

from .conftest import MAK, vector

SALE_BODY = bytes.fromhex(vector("sale_request")["frame_hex"])[13:-8]
SALE_MAC = bytes.fromhex(vector("sale_request")["fields"]["64"])
HEX_UPPER = set(b"0123456789ABCDEF")


def reference_mac(mak: Key, data: bytes) -> bytes:
    """Protocol §6 step by step, written for clarity rather than speed."""

    def enc(block: bytes) -> bytes:
        if len(mak) == 8:
            return des_encrypt_ecb(mak.material, block)
        return tdes_encrypt_ecb(mak.material, block)

    padded = data + b"\x00" * (-len(data) % 8)
    r = bytes(8)
    for i in range(0, len(padded), 8):
        r = bytes(a ^ b for a, b in zip(r, padded[i : i + 8], strict=True))
    r_hex = r.hex().upper().encode("ascii")
    first = enc(r_hex[:8])
    mixed = bytes(a ^ b for a, b in zip(first, r_hex[8:], strict=True))
    return enc(mixed).hex().upper()[:8].encode("ascii")


def test_mac_is_eight_upper_case_hex_ascii_bytes() -> None:
    mac = unionpay_ecb_mac(MAK, SALE_BODY)
    assert len(mac) == 8
    assert set(mac) <= HEX_UPPER


def test_mac_of_empty_data_is_defined() -> None:
    assert unionpay_ecb_mac(MAK, b"") == reference_mac(MAK, b"")


def test_trailing_zero_bytes_do_not_change_the_mac() -> None:
    # A property of the protocol's 00 padding, and why the bitmap must be part of the data.
    assert unionpay_ecb_mac(MAK, SALE_BODY + b"\x00" * 5) == SALE_MAC


def test_a_16_byte_mak_uses_3des() -> None:
    assert unionpay_ecb_mac(Key(MAK.material * 2), SALE_BODY) == SALE_MAC
    pik_like = generate_key(16)
    assert unionpay_ecb_mac(pik_like, SALE_BODY) == reference_mac(pik_like, SALE_BODY)


@pytest.mark.parametrize(
    ("data", "mac", "mak"),
    [
        (SALE_BODY[:-1] + bytes([SALE_BODY[-1] ^ 1]), SALE_MAC, MAK),
        (SALE_BODY, SALE_MAC[:-1] + b"0", MAK),
        (SALE_BODY, SALE_MAC.lower(), MAK),
        (SALE_BODY, SALE_MAC[:7], MAK),
        (SALE_BODY, b"", MAK),
        (SALE_BODY, SALE_MAC, Key.from_hex("5BB5C72CD00B733A")),
    ],
    ids=[
        "data-bit-flipped",
        "mac-changed",
        "mac-lower-case",
        "mac-short",
        "mac-empty",
        "other-mak",
    ],
)
def test_verify_mac_is_false_on_any_mismatch(data: bytes, mac: bytes, mak: Key) -> None:
    assert not verify_mac(mak, data, mac)


def test_a_mak_differing_only_in_parity_bits_gives_the_same_mac() -> None:
    # DES ignores the low bit of each key byte: not a mismatch, a fact worth pinning.
    assert verify_mac(Key.from_hex("5AB5C72CD00B7338"), SALE_BODY, SALE_MAC)


@given(data=st.binary(max_size=600), mak_bytes=st.binary(min_size=8, max_size=8))
def test_mac_matches_the_reference_and_verifies(data: bytes, mak_bytes: bytes) -> None:
    mak = Key(mak_bytes)
    mac = unionpay_ecb_mac(mak, data)
    assert mac == reference_mac(mak, data)
    assert verify_mac(mak, data, mac)


@given(
    data=st.binary(min_size=1, max_size=300), pos=st.integers(min_value=0), bit=st.integers(0, 7)
)
def test_flipping_a_data_bit_changes_what_verifies(data: bytes, pos: int, bit: int) -> None:
    mac = unionpay_ecb_mac(MAK, data)
    i = pos % len(data)
    tampered = data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :]
    # One bit of R changes, so one character fed to DES changes; the 32-bit MAC then
    # collides with probability 2**-32 per example.
    assert not verify_mac(MAK, tampered, mac)

"""The golden corpus (tests/vectors/vectors.json) reproduced byte for byte."""

from __future__ import annotations

from typing import Any

import pytest

from possettle.crypto import (
    WorkingKeys,
    decode_field62,
    decrypt_pin,
    encode_field62,
    encrypt_pin_block,
    unionpay_ecb_mac,
    verify_mac,
)

from .conftest import MAK, PAN, PIK, PIN, TMK, VECTORS, vector

MACED = [v for v in VECTORS["vectors"] if "64" in v["fields"]]


def test_the_corpus_has_maced_messages_to_check() -> None:
    assert {v["name"] for v in MACED} >= {"sale_request", "sale_response", "reversal_request"}


def test_signon_response_field_62_is_encode_field62_of_the_vector_keys() -> None:
    expected = bytes.fromhex(vector("signon_response")["fields"]["62"])
    assert encode_field62(TMK, WorkingKeys(pik=PIK, mak=MAK)) == expected


def test_signon_response_field_62_is_the_tail_of_its_frame() -> None:
    v = vector("signon_response")
    assert bytes.fromhex(v["frame_hex"]).endswith(b"\x00\x40" + bytes.fromhex(v["fields"]["62"]))


def test_signon_response_field_62_decodes_to_the_vector_keys() -> None:
    field62 = bytes.fromhex(vector("signon_response")["fields"]["62"])
    assert decode_field62(TMK, field62) == WorkingKeys(pik=PIK, mak=MAK)


@pytest.mark.parametrize("v", MACED, ids=[v["name"] for v in MACED])
def test_mac_over_frame_body_equals_field_64(v: dict[str, Any]) -> None:
    frame = bytes.fromhex(v["frame_hex"])
    # LEN(2) TPDU(5) HEADER(6), then the ISO body whose last 8 bytes are field 64.
    body, mac = frame[13:-8], frame[-8:]
    assert mac == bytes.fromhex(v["fields"]["64"])
    assert unionpay_ecb_mac(MAK, body) == mac
    assert verify_mac(MAK, body, mac)


def test_sale_request_field_52_is_the_pin_block_of_the_vector_pin() -> None:
    field52 = bytes.fromhex(vector("sale_request")["fields"]["52"])
    assert encrypt_pin_block(PIK, PIN, PAN) == field52
    assert decrypt_pin(PIK, field52, PAN) == PIN

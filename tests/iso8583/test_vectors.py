from __future__ import annotations

import json

import pytest

from possettle.iso8583 import codec
from possettle.iso8583.framing import Frame, FrameReader, Header, Tpdu
from tests.vectors.load import SHARED_PATH, VECTORS_PATH, load

VECTORS = load()["vectors"]
IDS = [v["name"] for v in VECTORS]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_every_vector_decodes_to_its_fields(vector: dict[str, object]) -> None:
    frame = FrameReader().feed(bytes.fromhex(str(vector["frame_hex"])))[0]
    assert codec.decode(frame.body) == vector["fields"]
    assert frame.tpdu.to_bytes().hex().upper() == vector["tpdu"]
    assert frame.header.to_bytes().hex() == vector["header"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_every_vector_encodes_byte_for_byte(vector: dict[str, object]) -> None:
    tpdu = Tpdu.from_bytes(bytes.fromhex(str(vector["tpdu"])))
    header = Header.from_bytes(bytes.fromhex(str(vector["header"])))
    fields = vector["fields"]
    assert isinstance(fields, dict)
    body = codec.encode(fields)
    assert Frame(tpdu, header, body).to_bytes().hex().upper() == vector["frame_hex"]


def test_repo_copy_of_vectors_matches_shared_when_present() -> None:
    if not SHARED_PATH.exists():
        pytest.skip("../shared/protocol/vectors.json is not beside this clone")
    assert json.loads(VECTORS_PATH.read_text()) == json.loads(SHARED_PATH.read_text())


def test_reply_tpdu_swaps_destination_and_source() -> None:
    assert Tpdu("0003", "0000").swapped().to_bytes().hex() == "6000000003"

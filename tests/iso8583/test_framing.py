from __future__ import annotations

import pytest

from possettle.iso8583.errors import FramingError
from possettle.iso8583.framing import MAX_FRAME, FrameReader, Header, version_digits
from tests.vectors.load import by_name

SALE = bytes.fromhex(by_name()["sale_request"]["frame_hex"])


def test_a_frame_split_into_single_bytes_is_reassembled() -> None:
    reader = FrameReader()
    frames = []
    for i in range(len(SALE)):
        frames += reader.feed(SALE[i : i + 1])
    assert len(frames) == 1
    assert frames[0].body == SALE[13:]
    assert reader.pending == 0


def test_two_frames_in_one_read_come_out_in_order() -> None:
    echo = bytes.fromhex(by_name()["echo_request"]["frame_hex"])
    frames = FrameReader().feed(SALE + echo + echo[:5])
    assert [f.body[:2].hex() for f in frames] == ["0200", "0820"]


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        (b"\x00\x00", "frame length is 0: field LEN pos 0"),
        ((MAX_FRAME + 1).to_bytes(2, "big"), f"frame length {MAX_FRAME + 1} exceeds {MAX_FRAME}"),
        (b"\x00\x14", "shorter than TPDU \\+ header \\+ MTI \\+ bitmap"),
    ],
)
def test_bad_lengths_are_framing_errors(prefix: bytes, message: str) -> None:
    with pytest.raises(FramingError, match=message):
        FrameReader().feed(prefix)


def test_header_with_non_bcd_digits_is_a_framing_error() -> None:
    bad = bytearray(SALE)
    bad[7] = 0xAA
    with pytest.raises(FramingError, match="header is not BCD"):
        FrameReader().feed(bytes(bad))


def test_header_sub_version_is_the_software_version() -> None:
    h = Header(sub_version=version_digits("1.2.3"))
    assert h.to_bytes().hex() == "603100010203"
    assert Header.from_bytes(h.to_bytes()).software_version == (1, 2, 3)
    assert h.with_requirement(3).to_bytes().hex() == "603103010203"


def test_version_digits_rejects_malformed_versions() -> None:
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR\.PATCH"):
        version_digits("1.2")

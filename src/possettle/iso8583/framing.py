"""PS-CUP/1 framing (protocol §1): ``LEN 2B | TPDU 5B | HEADER 6B | ISO body``.

Framing is kept apart from the codec: the codec only sees the ISO body (MTI onwards).
:class:`FrameReader` is a sans-IO reassembler: feed it whatever a socket read returned, in
pieces of any size, and it yields complete frames or raises :class:`FramingError`.

>>> r = FrameReader()
>>> r.feed(bytes.fromhex("0015")), r.feed(bytes(21))[0].tpdu.to_bytes().hex()
([], '0000000000')
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from possettle.iso8583.errors import FramingError

MAX_FRAME = 4096
TPDU_LEN = 5
HEADER_LEN = 6
#: TPDU + header + MTI (2) + primary bitmap (8)
MIN_FRAME = TPDU_LEN + HEADER_LEN + 2 + 8


class Requirement(IntEnum):
    """Header processing requirement (one digit)."""

    NONE = 0
    SIGN_ON = 3  # a reply asks the terminal to sign on again


@dataclass(frozen=True, slots=True)
class Tpdu:
    """``60`` + destination (2 B) + source (2 B), kept as 4 hex digits each."""

    dest: str = "0003"
    src: str = "0000"
    ident: str = "60"

    def to_bytes(self) -> bytes:
        return bytes.fromhex(self.ident + self.dest + self.src)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Tpdu:
        h = raw.hex().upper()
        return cls(dest=h[2:6], src=h[6:10], ident=h[0:2])

    def swapped(self) -> Tpdu:
        """The TPDU of a reply: destination and source exchanged."""
        return Tpdu(dest=self.src, src=self.dest, ident=self.ident)


@dataclass(frozen=True, slots=True)
class Header:
    """6 bytes BCD: app type ``60`` · version ``31`` · status · requirement · sub-version."""

    app_type: str = "60"
    version: str = "31"
    status: int = 0
    requirement: int = Requirement.NONE
    sub_version: str = "000000"

    def to_bytes(self) -> bytes:
        return bytes.fromhex(
            f"{self.app_type}{self.version}{self.status}{self.requirement}{self.sub_version}"
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Header:
        h = raw.hex().upper()
        if not h.isdigit():
            raise FramingError(f"header is not BCD ({h})", field="header", pos=2 + TPDU_LEN)
        return cls(h[0:2], h[2:4], int(h[4]), int(h[5]), h[6:12])

    def with_requirement(self, requirement: int) -> Header:
        return Header(self.app_type, self.version, self.status, requirement, self.sub_version)

    @property
    def software_version(self) -> tuple[int, int, int]:
        """Sub-version ``010203`` is software 1.2.3."""
        s = self.sub_version
        return int(s[0:2]), int(s[2:4]), int(s[4:6])


def version_digits(version: str) -> str:
    """``"1.2.3"`` → ``"010203"`` (each part 0..99)."""
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() and int(p) < 100 for p in parts):
        raise ValueError(f"software version must be MAJOR.MINOR.PATCH (0-99 each): {version!r}")
    return "".join(f"{int(p):02d}" for p in parts)


def version_text(digits: str) -> str:
    """``"010203"`` → ``"1.2.3"``: how a version is shown everywhere (anything that is not six
    digits is shown as it is).

    >>> version_text("010203"), version_text("100000")
    ('1.2.3', '10.0.0')
    """
    if len(digits) != 6 or not digits.isdigit():
        return digits
    return ".".join(str(int(digits[i : i + 2])) for i in (0, 2, 4))


@dataclass(frozen=True, slots=True)
class Frame:
    tpdu: Tpdu
    header: Header
    body: bytes

    def to_bytes(self) -> bytes:
        payload = self.tpdu.to_bytes() + self.header.to_bytes() + self.body
        if len(payload) > MAX_FRAME:
            raise FramingError(f"frame of {len(payload)} bytes exceeds {MAX_FRAME}")
        return struct.pack(">H", len(payload)) + payload


def check_length(length: int) -> None:
    if length == 0:
        raise FramingError("frame length is 0", field="LEN", pos=0)
    if length > MAX_FRAME:
        raise FramingError(f"frame length {length} exceeds {MAX_FRAME}", field="LEN", pos=0)
    if length < MIN_FRAME:
        raise FramingError(
            f"frame length {length} is shorter than TPDU + header + MTI + bitmap ({MIN_FRAME})",
            field="LEN",
            pos=0,
        )


def parse_payload(payload: bytes) -> Frame:
    """Split the bytes after LEN into TPDU, header and ISO body."""
    check_length(len(payload))
    return Frame(
        tpdu=Tpdu.from_bytes(payload[:TPDU_LEN]),
        header=Header.from_bytes(payload[TPDU_LEN : TPDU_LEN + HEADER_LEN]),
        body=payload[TPDU_LEN + HEADER_LEN :],
    )


class FrameReader:
    """Reassemble frames from a byte stream split across any number of reads (sans-IO)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= 2:
            (length,) = struct.unpack_from(">H", self._buf)
            check_length(length)
            if len(self._buf) < 2 + length:
                break
            payload = bytes(self._buf[2 : 2 + length])
            del self._buf[: 2 + length]
            frames.append(parse_payload(payload))
        return frames

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole frame."""
        return len(self._buf)

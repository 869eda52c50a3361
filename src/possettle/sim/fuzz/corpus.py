"""The seed corpus: golden PS-CUP/1 frames, split into framing and body and mapped by field.

The golden vectors (``tests/vectors/vectors.json``, a copy of ``shared/protocol/vectors.json``)
are the only seeds: every mutated frame is one of them changed a little, so most mutants get
past the framing and deep into the decoder and the host's handlers.

>>> corpus = Corpus.from_vectors([{"name": "echo", "frame_hex": "0027" "6000030000" "603100000000"
...     "0820" "0020000000C00010" "000007" "3132333435363738" "313233343536373839303132333435"
...     "0011" "000000013010"}])
>>> corpus.frames[0].spans[-1].number, corpus.frames[0].mti
(60, '0820')
"""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from possettle.cards import luhn_ok, pan_from_track2
from possettle.iso8583 import codec
from possettle.iso8583.errors import CodecError
from possettle.iso8583.fields import parse_upload_records
from possettle.iso8583.framing import HEADER_LEN, TPDU_LEN
from possettle.sim.fuzz.layout import FieldSpan, field_spans

LEN_PREFIX = 2
#: offset of the ISO body (MTI) in a whole frame: LEN + TPDU + header
BODY_OFFSET = LEN_PREFIX + TPDU_LEN + HEADER_LEN


@dataclass(frozen=True, slots=True)
class GoldenFrame:
    """One seed: the whole frame as sent (``LEN | TPDU | header | body``) and its field map."""

    name: str
    raw: bytes
    spans: tuple[FieldSpan, ...]
    fields: Mapping[str, str]

    @property
    def prefix(self) -> bytes:
        """TPDU + header (what comes between LEN and the body)."""
        return self.raw[LEN_PREFIX:BODY_OFFSET]

    @property
    def body(self) -> bytes:
        return self.raw[BODY_OFFSET:]

    @property
    def mti(self) -> str:
        return self.fields.get("t", "")


def frame_bytes(prefix: bytes, body: bytes) -> bytes:
    """A frame with an honest length prefix (clamped to 16 bits; the host caps at 4096)."""
    payload = prefix + body
    return struct.pack(">H", min(len(payload), 0xFFFF)) + payload


def _pans(fields: Mapping[str, str]) -> set[str]:
    pans = set()
    if "2" in fields:
        pans.add(fields["2"])
    if "35" in fields:
        pans.add(pan_from_track2(fields["35"]))
    if "48" in fields:
        with contextlib.suppress(CodecError):
            pans.update(r.pan for r in parse_upload_records(fields["48"]))
    return {p for p in pans if luhn_ok(p)}


@dataclass(frozen=True, slots=True)
class Corpus:
    frames: tuple[GoldenFrame, ...]

    @classmethod
    def from_vectors(cls, vectors: Iterable[Mapping[str, Any]]) -> Corpus:
        frames = []
        for v in vectors:
            raw = bytes.fromhex(v["frame_hex"])
            body = raw[BODY_OFFSET:]
            frames.append(GoldenFrame(v["name"], raw, tuple(field_spans(body)), codec.decode(body)))
        if not frames:
            raise ValueError("the corpus needs at least one golden frame")
        return cls(tuple(frames))

    @classmethod
    def load(cls, path: Path) -> Corpus:
        """The ``vectors`` of a golden-vector file (``tests/vectors/vectors.json``)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls.from_vectors(data["vectors"])

    @property
    def pans(self) -> frozenset[str]:
        """Every card number the seeds carry (fields 2, 35, upload records): what must never
        show in clear after a run."""
        found: set[str] = set()
        for f in self.frames:
            found |= _pans(f.fields)
        return frozenset(found)

    @property
    def mtis(self) -> tuple[str, ...]:
        return tuple(sorted({f.mti for f in self.frames}))

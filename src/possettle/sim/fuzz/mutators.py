"""Mutators: small, seeded changes to a golden frame, each aimed at one way a frame can lie.

A mutator edits a :class:`Work` in place — the TPDU + header, the body, the field map of the
golden body, and what the frame's length prefix and the stream should claim — and returns a
short note of what it did (offsets and field numbers only, never field values, so the note
itself can be logged). :data:`MUTATORS` lists them by name with the stage they work at:
field-aware ones run first (while the field map still holds), then structural ones, then
framing lies.

>>> import random
>>> work = Work(bytes(11), bytearray(bytes.fromhex("0800") + bytes(8)), ())
>>> undefined_bit(random.Random(1), work).startswith("undefined bit")
True
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from possettle.iso8583.framing import MAX_FRAME, MIN_FRAME
from possettle.iso8583.spec import DEFINED_FIELDS, Kind
from possettle.sim.fuzz.layout import BITMAP_LEN, MTI_LEN, FieldSpan

UNDEFINED_FIELDS = tuple(n for n in range(1, 65) if n not in DEFINED_FIELDS)
DEFINED = tuple(sorted(DEFINED_FIELDS))
#: MTIs a fuzzed frame may be retagged to: every PS-CUP/1 request and reply, and near misses
MTIS = (
    "0800", "0810", "0820", "0830", "0200", "0210", "0220", "0230", "0400", "0410",
    "0500", "0510", "0320", "0330", "0100", "0900", "0000", "9999",
)  # fmt: skip
#: (60.1, 60.3) pairs: every combination the dialect knows, and some it does not
F60_CODES = (
    ("00", "003"), ("00", "002"), ("00", "301"), ("00", "362"), ("00", "201"), ("00", "202"),
    ("00", "207"), ("22", "000"), ("23", "000"), ("25", "000"), ("36", "000"), ("01", "000"),
    ("99", "999"), ("00", "000"),
)  # fmt: skip
#: byte values that often break parsers: NUL, DEL, ESC, high bit, BCD edges
SPECIAL_BYTES = (0x00, 0xFF, 0x7F, 0x80, 0x1B, 0x99, 0x9A, 0xA9, 0x0A, 0x0D, 0x20, 0x3D)
CONTROL_TEXTS = (b"\x1b[2J", b"\x1b]0;x\x07", b"\r\n", b"\x00", b"\x7f", b"\x9b", b"\xff\xfe")


class Stage(IntEnum):
    """When a mutator runs in a combination: the field map is valid only before STRUCTURE."""

    FIELD = 0
    STRUCTURE = 1
    FRAMING = 2


@dataclass(slots=True)
class Work:
    """A frame being mutated."""

    prefix: bytes  # TPDU + header
    body: bytearray
    spans: tuple[FieldSpan, ...]
    spans_valid: bool = True
    #: a lying length prefix (None: the honest length of prefix + body)
    length: int | None = None
    #: send only this many bytes of the whole frame (None: all of it)
    cut: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        payload = self.prefix + bytes(self.body)
        length = len(payload) if self.length is None else self.length
        data = struct.pack(">H", min(max(length, 0), 0xFFFF)) + payload
        return data if self.cut is None else data[: self.cut]

    def span(self, rng: random.Random, want: Callable[[FieldSpan], bool]) -> FieldSpan | None:
        if not self.spans_valid:
            return None
        candidates = [s for s in self.spans if want(s)]
        return rng.choice(candidates) if candidates else None

    def changed_structure(self) -> None:
        self.spans_valid = False


Mutator = Callable[[random.Random, Work], str]


def _bcd(value: int, size: int) -> bytes:
    return bytes.fromhex(f"{value:0{size * 2}d}")


# ----------------------------------------------------------------------------- bits and bytes


def bit_flip(rng: random.Random, work: Work) -> str:
    """Flip 1–4 random bits of the header or body."""
    whole = bytearray(work.prefix + bytes(work.body))
    where = []
    for _ in range(rng.randint(1, 4)):
        bit = rng.randrange(len(whole) * 8)
        whole[bit // 8] ^= 0x80 >> (bit % 8)
        where.append(bit)
    work.prefix, work.body = bytes(whole[: len(work.prefix)]), whole[len(work.prefix) :]
    return "bit flip " + ",".join(map(str, where))


def special_bytes(rng: random.Random, work: Work) -> str:
    """Overwrite 1–3 body bytes with values parsers trip on (NUL, ESC, 0xFF, BCD edges)."""
    if not work.body:
        return "special bytes (empty body)"
    where = []
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(work.body))
        work.body[pos] = rng.choice(SPECIAL_BYTES)
        where.append(pos)
    return "special bytes at " + ",".join(map(str, where))


# ----------------------------------------------------------------------------- BCD


def bad_bcd(rng: random.Random, work: Work) -> str:
    """Put a nibble A–F into a numeric field (or its length prefix)."""
    span = work.span(rng, lambda s: s.bcd or s.variable)
    if span is None:
        return bit_flip(rng, work)
    if span.variable and (not span.bcd or rng.random() < 0.3):
        pos, where = span.start + rng.randrange(span.prefix_len), "prefix"
    elif span.data_len:
        pos, where = span.data_start + rng.randrange(span.data_len), "data"
    else:
        return bit_flip(rng, work)
    nibble = rng.randrange(0xA, 0x10)
    if rng.random() < 0.5:
        work.body[pos] = (work.body[pos] & 0x0F) | (nibble << 4)
    else:
        work.body[pos] = (work.body[pos] & 0xF0) | nibble
    return f"bad BCD in field {span.number} {where}"


def bad_bcd_mti(rng: random.Random, work: Work) -> str:
    """An MTI nibble A–F (``032F``): the message cannot be classified."""
    pos = rng.randrange(MTI_LEN)
    nibble = rng.randrange(0xA, 0x10)
    if len(work.body) <= pos:
        return "bad BCD in MTI (no MTI)"
    if rng.random() < 0.5:
        work.body[pos] = (work.body[pos] & 0xF0) | nibble
    else:
        work.body[pos] = (work.body[pos] & 0x0F) | (nibble << 4)
    return f"bad BCD in MTI byte {pos}"


def bad_header(rng: random.Random, work: Work) -> str:
    """A non-BCD header or an odd TPDU: a framing error."""
    prefix = bytearray(work.prefix)
    pos = rng.randrange(len(prefix))
    prefix[pos] = rng.choice((0xAB, 0xFF, 0x1B, rng.randrange(256)))
    work.prefix = bytes(prefix)
    return f"header byte {pos}"


# ----------------------------------------------------------------------------- bitmap


def undefined_bit(rng: random.Random, work: Work) -> str:
    """Set 1–3 bitmap bits of fields PS-CUP/1 does not define (bit 1: a secondary bitmap)."""
    bits = rng.sample(UNDEFINED_FIELDS, rng.randint(1, 3))
    if len(work.body) < MTI_LEN + BITMAP_LEN:  # an earlier mutation cut it: no bitmap to set
        return "undefined bit(s) (no bitmap)"
    for n in bits:
        work.body[MTI_LEN + (n - 1) // 8] |= 0x80 >> ((n - 1) % 8)
    return "undefined bit(s) " + ",".join(map(str, sorted(bits)))


def toggle_defined_bit(rng: random.Random, work: Work) -> str:
    """Set or clear the bit of a defined field: every later field is read out of place."""
    n = rng.choice(DEFINED)
    if len(work.body) <= MTI_LEN + (n - 1) // 8:  # an earlier mutation cut the bitmap short
        return f"toggled bit {n} (no bitmap)"
    work.body[MTI_LEN + (n - 1) // 8] ^= 0x80 >> ((n - 1) % 8)
    work.changed_structure()
    return f"toggled bit {n}"


# ----------------------------------------------------------------------------- lengths


def _lie_value(rng: random.Random, span: FieldSpan) -> int:
    top = 10 ** (span.prefix_len * 2) - 1
    unit = span.max_len
    honest = span.data_len * 2 if span.bcd else span.data_len
    return rng.choice(
        (0, 1, max(honest - 1, 0), honest + 1, unit, unit + 1, top, rng.randint(0, top))
    )


def llvar_lie(rng: random.Random, work: Work) -> str:
    """An LLVAR / LLLVAR prefix that does not match its data (shorter, longer, 0, 99…9)."""
    span = work.span(rng, lambda s: s.variable)
    if span is None:
        return bit_flip(rng, work)
    value = _lie_value(rng, span)
    work.body[span.start : span.data_start] = _bcd(min(value, 10 ** (2 * span.prefix_len) - 1),
                                                   span.prefix_len)  # fmt: skip
    work.changed_structure()
    return f"field {span.number} length prefix says {value}"


def llvar_oversized(rng: random.Random, work: Work) -> str:
    """A variable field longer than the dialect allows, with the data really there."""
    span = work.span(rng, lambda s: s.variable)
    if span is None:
        return bit_flip(rng, work)
    top = 10 ** (span.prefix_len * 2) - 1
    value = rng.randint(min(span.max_len + 1, top), top)
    nbytes = (value + 1) // 2 if span.bcd else value
    data = bytes(work.body[span.data_start : span.end]) or b"\x00"
    grown = (data * (nbytes // len(data) + 1))[:nbytes]
    work.body[span.start : span.end] = _bcd(value, span.prefix_len) + grown
    work.changed_structure()
    return f"field {span.number} oversized to {value}"


def frame_length_lie(rng: random.Random, work: Work) -> str:
    """The 2-byte frame length says something else than the bytes that follow."""
    honest = len(work.prefix) + len(work.body)
    work.length = rng.choice((
        0, 1, MIN_FRAME - 1, MIN_FRAME, honest - 1, honest + 1, honest - rng.randint(2, 20),
        honest + rng.randint(2, 64), MAX_FRAME, MAX_FRAME + 1, 0xFFFF, rng.randrange(0x10000),
    ))  # fmt: skip
    return f"frame length says {work.length} (is {honest})"


def trailing_bytes(rng: random.Random, work: Work) -> str:
    """Bytes after the last field, counted in the frame length."""
    n = rng.randint(1, 16)
    work.body += rng.randbytes(n)
    return f"{n} trailing byte(s)"


# ----------------------------------------------------------------------------- meaning


def retag(rng: random.Random, work: Work) -> str:
    """Another MTI and/or other 60.1 / 60.3 codes: the same fields read as another message."""
    notes = []
    if rng.random() < 0.6:
        mti = rng.choice(MTIS)
        work.body[0:MTI_LEN] = bytes.fromhex(mti)
        notes.append(f"MTI {mti}")
    span = work.span(rng, lambda s: s.number == 60 and s.data_len >= 6)
    if span is not None and (not notes or rng.random() < 0.5):
        digits = bytearray(work.body[span.data_start : span.end].hex().encode())
        txn, code = rng.choice(F60_CODES)
        if digits[:11].isdigit():
            digits[0:2], digits[8:11] = txn.encode(), code.encode()
            work.body[span.data_start : span.end] = bytes.fromhex(digits.decode())
            notes.append(f"60.1/60.3 {txn}/{code}")
    return "retag " + (" ".join(notes) or "(no change)")


def control_text(rng: random.Random, work: Work) -> str:
    """Terminal escape sequences and other control bytes in a text field (TID, MID, 63…)."""
    span = work.span(rng, lambda s: s.kind in (Kind.AN, Kind.ANS) and s.data_len > 0)
    if span is None:
        return special_bytes(rng, work)
    text = rng.choice(CONTROL_TEXTS)[: span.data_len]
    pos = span.data_start + rng.randrange(span.data_len - len(text) + 1)
    work.body[pos : pos + len(text)] = text
    return f"control bytes in field {span.number}"


# ----------------------------------------------------------------------------- structure


def delete_slice(rng: random.Random, work: Work) -> str:
    if len(work.body) < 2:
        return "delete (body too short)"
    start = rng.randrange(len(work.body))
    n = rng.randint(1, min(16, len(work.body) - start))
    del work.body[start : start + n]
    work.changed_structure()
    return f"deleted {n} byte(s) at {start}"


def duplicate_slice(rng: random.Random, work: Work) -> str:
    if not work.body:
        return "duplicate (empty body)"
    start = rng.randrange(len(work.body))
    piece = work.body[start : start + rng.randint(1, 32)]
    at = rng.randrange(len(work.body) + 1)
    work.body[at:at] = piece
    work.changed_structure()
    return f"duplicated {len(piece)} byte(s) from {start} to {at}"


def random_body(rng: random.Random, work: Work) -> str:
    """Random bytes after the golden TPDU and header (sometimes after a golden MTI/bitmap)."""
    keep = rng.choice((0, MTI_LEN, MTI_LEN + BITMAP_LEN))
    n = rng.randint(0, 300)
    work.body = work.body[:keep] + bytearray(rng.randbytes(n))
    work.changed_structure()
    return f"random body: {n} byte(s) after {keep}"


def random_frame(rng: random.Random, work: Work) -> str:
    """Random bytes where the TPDU and header should be, too."""
    work.prefix = rng.randbytes(len(work.prefix))
    work.body = bytearray(rng.randbytes(rng.randint(0, 200)))
    work.changed_structure()
    return "random frame"


# ----------------------------------------------------------------------------- registry


@dataclass(frozen=True, slots=True)
class MutatorSpec:
    name: str
    fn: Mutator
    stage: Stage
    weight: int


MUTATORS: tuple[MutatorSpec, ...] = (
    MutatorSpec("bit_flip", bit_flip, Stage.FIELD, 14),
    MutatorSpec("special_bytes", special_bytes, Stage.FIELD, 6),
    MutatorSpec("bad_bcd", bad_bcd, Stage.FIELD, 10),
    MutatorSpec("bad_bcd_mti", bad_bcd_mti, Stage.FIELD, 4),
    MutatorSpec("bad_header", bad_header, Stage.FIELD, 2),
    MutatorSpec("undefined_bit", undefined_bit, Stage.FIELD, 6),
    MutatorSpec("retag", retag, Stage.FIELD, 10),
    MutatorSpec("control_text", control_text, Stage.FIELD, 4),
    MutatorSpec("llvar_lie", llvar_lie, Stage.FIELD, 10),
    MutatorSpec("llvar_oversized", llvar_oversized, Stage.FIELD, 6),
    MutatorSpec("toggle_defined_bit", toggle_defined_bit, Stage.STRUCTURE, 6),
    MutatorSpec("trailing_bytes", trailing_bytes, Stage.STRUCTURE, 8),
    MutatorSpec("delete_slice", delete_slice, Stage.STRUCTURE, 4),
    MutatorSpec("duplicate_slice", duplicate_slice, Stage.STRUCTURE, 4),
    MutatorSpec("random_body", random_body, Stage.STRUCTURE, 3),
    MutatorSpec("random_frame", random_frame, Stage.STRUCTURE, 1),
    MutatorSpec("frame_length_lie", frame_length_lie, Stage.FRAMING, 4),
)
BY_NAME = {m.name: m for m in MUTATORS}

"""The decoder as a fuzz target: bytes in, and nothing but the codec's own errors out.

:func:`one_input` is what the coverage-guided harness (``tests/fuzz/atheris_decoder.py``)
and the Hypothesis fallback call. It does what the host does with bytes from a socket —
cut frames (:class:`~possettle.iso8583.framing.FrameReader`), decode each body, classify the
message and read field 60 — and what the host logs: the masked pretty-print of whatever was
decoded, the partial message of a :class:`~possettle.iso8583.errors.DecodeError` included.
The input is also decoded as a bare body, so the decoder sees raw bytes without a framing
layer in front. :class:`~possettle.iso8583.errors.CodecError` is the expected answer to bad
input; any other exception escapes and is a crash.

>>> one_input(b"\\x00\\x05garbage")  # a framing error: expected, nothing escapes
"""

from __future__ import annotations

from possettle.iso8583 import codec
from possettle.iso8583.classify import classify
from possettle.iso8583.errors import CodecError, DecodeError
from possettle.iso8583.fields import Field60
from possettle.iso8583.framing import FrameReader
from possettle.iso8583.mask import pretty
from possettle.sim.fuzz.corpus import Corpus


def _decode(body: bytes) -> None:
    try:
        fields = codec.decode(body)
    except DecodeError as exc:
        fields = exc.partial
    pretty(fields)
    try:
        classify(fields)
        Field60.parse(fields.get("60", ""))
    except CodecError:
        pass


def one_input(data: bytes) -> None:
    """Frame, decode, classify and pretty-print ``data``; only codec errors are handled."""
    try:
        frames = FrameReader().feed(data)
    except CodecError:
        frames = []
    for frame in frames:
        _decode(frame.body)
    _decode(data)


def seed_inputs(corpus: Corpus) -> list[bytes]:
    """The golden frames, and their bodies alone: where a fuzzer starts."""
    return [f.raw for f in corpus.frames] + [f.body for f in corpus.frames]

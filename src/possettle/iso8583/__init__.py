"""PS-CUP/1: the terminal ↔ host ISO 8583 dialect (see docs/protocol.md).

Public API: :func:`codec.encode`, :func:`codec.decode`, :mod:`framing` (frames, TPDU,
header, a sans-IO frame reader), :mod:`fields` (typed sub-fields), :mod:`classify`
(classification), :mod:`codes` (response codes as data), :mod:`mask` (safe printing).
"""

from possettle.iso8583.codec import Fields, decode, encode
from possettle.iso8583.errors import CodecError, DecodeError, EncodeError, FramingError

__all__ = ["CodecError", "DecodeError", "EncodeError", "Fields", "FramingError", "decode", "encode"]

"""The upstream wire format: pyiso8583's ``specs.default`` framed by a 2-byte length.

``specs.default`` is plain ISO 8583:1987 with ASCII fields and a binary primary and secondary
bitmap, the layout protocol §8 names. We keep a private deep copy so no other code mutating
the library's dict can change what we send.

Decoding never raises for a bad message: it returns the fields it could read with the error,
so the connector can still match a half-readable reply (MTI, 11, 41) to its request.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

# pyiso8583's top-level ``iso8583``, not possettle.iso8583 nor the sibling module
# possettle.upstream.iso8583: imports are absolute. Dotted imports also keep ruff's isort from
# taking ``iso8583`` for a module of this folder.
from iso8583.decoder import DecodeError
from iso8583.decoder import decode as iso_decode
from iso8583.encoder import EncodeError
from iso8583.encoder import encode as iso_encode
from iso8583.specs import default as default_spec

from possettle.upstream.errors import UpstreamProtocolError, UpstreamRequestError

SPEC: Mapping[str, Mapping[str, Any]] = copy.deepcopy(default_spec)

Fields = dict[str, str]


def encode(fields: Mapping[str, str]) -> bytes:
    """The framed bytes of a message (length prefix included)."""
    try:
        body, _ = iso_encode(dict(fields), SPEC)
    except EncodeError as exc:
        # pyiso8583's messages name the field and lengths, never the data.
        raise UpstreamRequestError(f"cannot encode {fields.get('t', '?')}: {exc}") from exc
    if len(body) > 0xFFFF:
        raise UpstreamRequestError(f"message of {len(body)} bytes exceeds the 2-byte length")
    return len(body).to_bytes(2, "big") + bytes(body)


def decode(body: bytes) -> tuple[Fields, UpstreamProtocolError | None]:
    """The fields of one message body, and the error if it could not be read completely."""
    try:
        fields, _ = iso_decode(body, SPEC)
    except DecodeError as exc:
        error = UpstreamProtocolError(f"issuer reply of {len(body)} bytes does not decode: {exc}")
        error.__cause__ = exc
        return dict(exc.doc_dec), error
    return fields, None


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """One message body; :class:`asyncio.IncompleteReadError` at end of stream."""
    size = int.from_bytes(await reader.readexactly(2), "big")
    if size == 0:
        raise UpstreamProtocolError("issuer sent a frame of length 0")
    return await reader.readexactly(size)

"""Errors of the PS-CUP/1 codec.

::

    CodecError(PossettleError)       the peer (or we) broke PS-CUP/1
    ├── FramingError                 length prefix, TPDU or header: the connection cannot go on
    ├── DecodeError                  a field could not be read: ``field`` and ``pos`` say where
    ├── EncodeError                  a message we build could not be encoded (caller misuse)
    └── CodeTableError               the CUP response-code table (data/cup39.toml) is malformed
                                     (our bug): names the file, the code and the key

pyiso8583's own ``EncodeError`` / ``DecodeError`` are translated in :mod:`codec` only, with
``raise ... from exc`` so the original stays on the chain. Messages never contain card data:
pyiso8583's messages name the field and offset, not its value.
"""

from __future__ import annotations

from possettle.errors import PossettleError


class CodecError(PossettleError):
    """Base of every PS-CUP/1 encoding or decoding error."""

    def __init__(self, msg: str, *, field: str | None = None, pos: int | None = None) -> None:
        where = ""
        if field is not None:
            where += f": field {field}"
        if pos is not None:
            where += f" pos {pos}"
        super().__init__(msg + where)
        self.reason = msg
        self.field = field
        self.pos = pos


class FramingError(CodecError):
    """The frame itself (LEN, TPDU, header) is wrong; the host closes the connection."""


class DecodeError(CodecError):
    """A field of a well-framed message is malformed; the host can still answer ``30``.

    ``partial`` holds the fields decoded before the error (MTI, STAN, TID …) so a reply
    can still be addressed; it may contain card data and must be masked before logging.
    """

    def __init__(
        self,
        msg: str,
        *,
        field: str | None = None,
        pos: int | None = None,
        partial: dict[str, str] | None = None,
    ) -> None:
        super().__init__(msg, field=field, pos=pos)
        self.partial: dict[str, str] = partial or {}


class EncodeError(CodecError):
    """A message could not be encoded: a bug or misuse on our side."""


class CodeTableError(CodecError):
    """``iso8583/data/cup39.toml`` is malformed (our bug): the message names the code and key."""

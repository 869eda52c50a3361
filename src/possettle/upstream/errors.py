"""Errors raised by issuer connectors.

The tree, and what the host answers the terminal for each::

    PossettleError
    └── UpstreamError                   anything that went wrong towards the issuer
        ├── UpstreamTimeout             the issuer did not reply in time        → 98
        ├── UpstreamUnavailable         connect refused, connection lost, outage → 91
        ├── UpstreamProtocolError       the issuer sent something we cannot read
        ├── UpstreamRequestError        our request cannot be encoded (caller misuse)
        └── RulesError                  a bad simulator rules file (also a ConfigError)

``UpstreamTimeout``, ``UpstreamUnavailable`` and ``UpstreamProtocolError`` carry ``sent``: the
:class:`~possettle.upstream.connector.SentRequest` when the request was written to the issuer
(its fate is in doubt, so the host must reverse it), ``None`` when it never left.

Lower-layer errors (``OSError``, ``TimeoutError``, pyiso8583's ``DecodeError`` and
``EncodeError``) are translated into this tree with ``raise ... from exc`` in exactly one place
per connector, so the cause chain is kept. No message here ever carries a clear PAN, track or
PIN: connectors mask the PAN with :func:`possettle.cards.mask_pan`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from possettle.errors import ConfigError, PossettleError

if TYPE_CHECKING:
    from possettle.upstream.connector import SentRequest


class UpstreamError(PossettleError):
    """Base of every error raised towards the issuer.

    ``sent`` is what went to the issuer before things went wrong (``None``: nothing did).
    """

    def __init__(self, message: str, *, sent: SentRequest | None = None) -> None:
        super().__init__(message)
        self.sent = sent

    @property
    def in_doubt(self) -> bool:
        """The request reached (or may have reached) the issuer: only a reversal undoes it."""
        return self.sent is not None


class UpstreamTimeout(UpstreamError):
    """The issuer did not answer within the budget; the host answers ``98``.

    A financial request that timed out may still have been approved by the issuer: ``sent``
    says what to reverse.
    """


class UpstreamUnavailable(UpstreamError):
    """The issuer cannot be reached (refused, connection lost, closed); the host answers ``91``."""


class UpstreamProtocolError(UpstreamError):
    """The issuer sent a reply that cannot be decoded or lacks a mandatory field."""


class RulesError(UpstreamError, ConfigError):
    """A simulator rules file is invalid.

    The message names the file, the table or array index and the key, e.g.
    ``rules.toml: rules[2].response: '5' is not a 2-character response code``.
    """


class UpstreamRequestError(UpstreamError, ValueError):
    """The request cannot be sent as given (caller misuse), e.g. a field too long to encode."""

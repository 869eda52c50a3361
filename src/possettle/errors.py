"""The root of possettle's error trees.

Every package has one error tree whose root derives from :class:`PossettleError`::

    PossettleError
    ├── iso8583.errors.CodecError       a frame or field broke PS-CUP/1 (peer's fault)
    │   ├── FramingError                length / TPDU / header
    │   ├── DecodeError                 a field, with its number and byte offset
    │   └── EncodeError                 our message could not be encoded (caller misuse)
    ├── crypto.errors.CryptoError       bad key material, MAC mismatch, PIN block errors
    ├── upstream.errors.UpstreamError   issuer timeouts, connection loss, refusals
    ├── host.errors.HostError           registry misuse, ledger conflicts, configuration
    └── ConfigError                     a bad option or file given by the user

Lower-layer errors (``OSError``, ``asyncio.TimeoutError``, pyiso8583's errors, SQLAlchemy's)
are translated at exactly one boundary per package with ``raise ... from exc`` so the cause
chain is kept for the doctor.
"""

from __future__ import annotations


class PossettleError(Exception):
    """Base of every error possettle raises on purpose."""


class ConfigError(PossettleError):
    """A user-supplied option, URL or file is invalid; the message says which and why."""

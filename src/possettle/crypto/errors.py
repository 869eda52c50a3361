"""The crypto package's error tree.

::

    PossettleError
    └── CryptoError                 root: anything key-, MAC-, PIN- or vault-related
        ├── KeyMaterialError        bad key length / hex / parity, or a malformed key field
        │   │                       (caller misuse, or a peer's field 62 of the wrong shape)
        │   └── KeyFileError        the host key file is unreadable or malformed (names the path)
        ├── KeyCheckError           a working key's check value does not match (names PIK / MAK)
        ├── PinBlockError           a PIN or PIN block is invalid; the text never holds PIN digits
        └── VaultError              a sealed blob failed to open: tampered, wrong key or AAD

Messages never contain key bytes, PIN digits or a clear PAN: they say what was wrong (a
length, a position, a check value) so they are safe to log. ``cryptography``'s and psec's
errors are translated here with ``raise ... from exc``; the one exception is PIN-block
decoding, which is done in :mod:`possettle.crypto.pin` itself because psec's messages
quote the PIN digits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from possettle.errors import PossettleError

WorkingKeyName = Literal["PIK", "MAK"]


class CryptoError(PossettleError):
    """Base of every error the crypto package raises."""


class KeyMaterialError(CryptoError):
    """Key material has the wrong length, bad hex or bad parity, or a key field is malformed."""


class KeyFileError(KeyMaterialError):
    """The host key file at :attr:`path` cannot be read, created or parsed."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"host key file {path}: {reason}")
        self.path = path
        self.reason = reason


class KeyCheckError(CryptoError):
    """A working key from field 62 decrypted to a key whose check value does not match.

    Check values are public by design (they exist to be compared), so both are kept as
    evidence for the doctor.
    """

    def __init__(self, key: WorkingKeyName, expected: bytes, actual: bytes) -> None:
        super().__init__(
            f"{key} check value mismatch: field 62 says {expected.hex().upper()}, "
            f"decrypted key gives {actual.hex().upper()}"
        )
        self.key: WorkingKeyName = key
        self.expected = expected
        self.actual = actual


class PinBlockError(CryptoError):
    """A PIN or an ISO 9564 format 0 PIN block is invalid (the message never holds the PIN)."""


class VaultError(CryptoError):
    """A sealed blob could not be opened: tampered, wrong master key, wrong AAD or version."""

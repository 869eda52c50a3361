"""At-rest protection for the host database: sealed blobs and keyed PAN hashes.

A :class:`Vault` holds a 32-byte master key and derives two independent subkeys with
HKDF-SHA256: one for AES-256-GCM sealing, one for HMAC-SHA256 PAN hashes (so rows can be
looked up by card without storing the PAN). A sealed blob is::

    version (1, 0x01) · nonce (12, random) · ciphertext · GCM tag (16)

The version byte is authenticated along with the caller's AAD, which should bind the blob
to its row (e.g. ``b"terminal:12345678:tmk"``) so a blob cannot be moved to another row.

>>> v = Vault(bytes(32))
>>> v.open(v.seal(b"secret", b"row-1"), b"row-1")
b'secret'
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from possettle.crypto.errors import CryptoError, KeyMaterialError, VaultError
from possettle.crypto.keyfile import (
    MASTER_KEY_LENGTH,
    create_key_file,
    parse_master_key_hex,
    read_key_file,
)
from possettle.crypto.keys import Key

ENV_VAR = "POSSETTLE_HOST_KEY"
VERSION = 0x01
NONCE_LENGTH = 12
TAG_LENGTH = 16
_SEAL_INFO = b"possettle/vault/aes-256-gcm/v1"
_PAN_INFO = b"possettle/vault/pan-hmac-sha256/v1"
_ID_INFO = b"possettle/vault/key-id/v1"


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


class Vault:
    """Seals and opens blobs under a master key; ``repr`` shows only a key id."""

    __slots__ = ("_aead", "_digest_key", "_key_id", "_pan_key")

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes):
            raise KeyMaterialError(
                f"vault master key must be bytes, got {type(master_key).__name__}"
            )
        if len(master_key) != MASTER_KEY_LENGTH:
            raise KeyMaterialError(
                f"vault master key is {len(master_key)} bytes, expecting {MASTER_KEY_LENGTH}"
            )
        self._aead = AESGCM(_derive(master_key, _SEAL_INFO))
        self._pan_key = _derive(master_key, _PAN_INFO)
        self._digest_key = _derive(master_key, b"possettle/vault/content-digest/v1")
        # A public fingerprint so operators can tell which key file a host runs with.
        self._key_id = _derive(master_key, _ID_INFO)[:4].hex().upper()

    @property
    def key_id(self) -> str:
        return self._key_id

    def __repr__(self) -> str:
        return f"Vault(key_id={self._key_id})"

    __str__ = __repr__

    @classmethod
    def load_or_create(cls, path: Path) -> Vault:
        """The vault whose key is in ``path``, creating the file (mode 0600) if missing."""
        if path.exists():
            return cls(read_key_file(path))
        return cls(create_key_file(path))

    @classmethod
    def from_env_or_file(cls, path: Path, environ: Mapping[str, str] | None = None) -> Vault:
        """From ``$POSSETTLE_HOST_KEY`` (64 hex characters) if set, else :meth:`load_or_create`.

        An empty variable counts as unset. ``environ`` defaults to ``os.environ`` (tests pass
        their own mapping).
        """
        env = os.environ if environ is None else environ
        value = env.get(ENV_VAR)
        if value:
            try:
                return cls(parse_master_key_hex(value, source=ENV_VAR))
            except ValueError as exc:
                raise KeyMaterialError(str(exc)) from exc
        return cls.load_or_create(path)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext``, bound to ``aad``."""
        header = bytes([VERSION])
        nonce = secrets.token_bytes(NONCE_LENGTH)
        return header + nonce + self._aead.encrypt(nonce, plaintext, header + aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """The plaintext of a sealed blob; :class:`VaultError` if it does not authenticate."""
        if len(blob) < 1 + NONCE_LENGTH + TAG_LENGTH:
            raise VaultError(f"sealed blob is {len(blob)} bytes, too short to be one")
        if blob[0] != VERSION:
            raise VaultError(f"sealed blob has unknown version 0x{blob[0]:02X}")
        nonce, body = blob[1 : 1 + NONCE_LENGTH], blob[1 + NONCE_LENGTH :]
        try:
            return self._aead.decrypt(nonce, body, blob[:1] + aad)
        except InvalidTag as exc:
            raise VaultError(
                f"sealed blob failed authentication (tampered, other key or wrong aad); "
                f"vault key_id={self._key_id}"
            ) from exc

    def seal_key(self, key: Key, aad: bytes) -> bytes:
        return self.seal(key.material, aad)

    def open_key(self, blob: bytes, aad: bytes) -> Key:
        return Key(self.open(blob, aad))

    def pan_hash(self, pan: str) -> str:
        """A keyed hash of ``pan`` (64 hex characters) for lookups without storing the PAN."""
        if not (pan.isascii() and pan.isdigit()):
            raise CryptoError("pan_hash needs a PAN of ASCII digits only")
        return hmac.new(self._pan_key, pan.encode("ascii"), hashlib.sha256).hexdigest()

    def digest(self, data: bytes) -> str:
        """A keyed digest of content that may hold card data (64 hex characters).

        Used for the exactly-once check of requests: equal content, equal digest, and the
        digest reveals nothing of a PAN inside without the master key.
        """
        return hmac.new(self._digest_key, data, hashlib.sha256).hexdigest()

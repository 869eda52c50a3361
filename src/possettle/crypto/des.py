"""DES and Triple-DES ECB on ``cryptography``'s decrepit ``TripleDES``.

Since cryptography 47 even the decrepit ``TripleDES`` warns (``DeprecatedIn47``) when given
an 8-byte (single DES) or 16-byte (two-key) key, so these wrappers expand keys to the
24-byte form themselves: ``K`` → ``K·K·K`` is single DES and ``K1·K2`` → ``K1·K2·K1`` is
two-key 3DES, bit for bit. A ``Cipher`` costs a few microseconds to build, so nothing is
cached (and no key material lingers in module state).

>>> des_encrypt_ecb(bytes.fromhex("5BB5C72CD00B7338"), bytes(8)).hex().upper()
'AB7153CA985B10C2'
"""

from __future__ import annotations

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from possettle.crypto.errors import KeyMaterialError

BLOCK = 8


def _check_data(data: bytes) -> None:
    if len(data) % BLOCK:
        raise KeyMaterialError(f"ECB data is {len(data)} bytes, expecting a multiple of {BLOCK}")


def _cipher(key24: bytes) -> Cipher[modes.ECB]:
    # ECB is what the protocol specifies: single 8-byte blocks (keys, PIN blocks, MAC steps).
    return Cipher(TripleDES(key24), modes.ECB())  # noqa: S305


def _expand_tdes(key: bytes) -> bytes:
    if len(key) == 16:
        return key + key[:8]
    if len(key) == 24:
        return key
    raise KeyMaterialError(f"3DES key is {len(key)} bytes, expecting 16 or 24")


def des_encrypt_ecb(key8: bytes, data: bytes) -> bytes:
    """Single-DES ECB encryption of ``data`` (a multiple of 8 bytes) under an 8-byte key."""
    if len(key8) != 8:
        raise KeyMaterialError(f"DES key is {len(key8)} bytes, expecting 8")
    _check_data(data)
    enc = _cipher(key8 * 3).encryptor()
    return enc.update(data) + enc.finalize()


def tdes_encrypt_ecb(key: bytes, data: bytes) -> bytes:
    """Triple-DES ECB encryption under a 16-byte (two-key) or 24-byte (three-key) key."""
    key24 = _expand_tdes(key)
    _check_data(data)
    enc = _cipher(key24).encryptor()
    return enc.update(data) + enc.finalize()


def tdes_decrypt_ecb(key: bytes, data: bytes) -> bytes:
    """Triple-DES ECB decryption under a 16-byte (two-key) or 24-byte (three-key) key."""
    key24 = _expand_tdes(key)
    _check_data(data)
    dec = _cipher(key24).decryptor()
    return dec.update(data) + dec.finalize()


def encrypt_ecb(key: bytes, data: bytes) -> bytes:
    """DES for an 8-byte key, 3DES for a 16- or 24-byte one (as check values and MACs use)."""
    if len(key) == 8:
        return des_encrypt_ecb(key, data)
    return tdes_encrypt_ecb(key, data)


def ecb_cipher(key: bytes) -> Cipher[modes.ECB]:
    """A reusable ECB cipher for ``key`` (DES for 8 bytes, 3DES for 16/24): for multi-step
    algorithms such as the MAC that encrypt more than once under one key."""
    if len(key) == 8:
        return _cipher(key * 3)
    return _cipher(_expand_tdes(key))

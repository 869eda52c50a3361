"""DES keys, check values and the 0810 field 62 that carries the working keys.

A :class:`Key` never shows its bytes in ``repr``/``str`` — only its length and check value —
so keys can pass through logs and tracebacks safely; :meth:`Key.hex` is the explicit opt-in.

Field 62 of an 0810 (sign-on mode ``003``) is 40 bytes (protocol §6)::

    PIK under TMK (16) · PIK check value (4) · MAK under TMK (8) · 00×8 · MAK check value (4)

>>> tmk = Key.from_hex("CA5D92598DCA48CE8A4C76361A9269E9")
>>> tmk
Key(16B kcv=43C6CCCB)
>>> keys = decode_field62(tmk, encode_field62(tmk, WorkingKeys(generate_key(16), generate_key(8))))
"""

from __future__ import annotations

import binascii
import secrets
from dataclasses import dataclass, field

from psec.des import adjust_key_parity

from possettle.crypto.des import encrypt_ecb, tdes_decrypt_ecb, tdes_encrypt_ecb
from possettle.crypto.errors import KeyCheckError, KeyMaterialError, WorkingKeyName

KEY_LENGTHS = (8, 16, 24)
CHECK_VALUE_LENGTH = 4
FIELD62_LENGTH = 40
PIK_LENGTH = 16
MAK_LENGTH = 8


def _odd_parity(byte: int) -> bool:
    return byte.bit_count() % 2 == 1


@dataclass(frozen=True, repr=False)
class Key:
    """A single (8 B), double (16 B) or triple (24 B) length DES key.

    Parity is not enforced: real TMKs (including the golden vectors') are not always
    parity-adjusted, and DES ignores the parity bits. Use :attr:`has_odd_parity` or
    ``Key.from_hex(..., require_odd_parity=True)`` where a policy needs it.
    """

    material: bytes
    _kcv: bytes = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.material, bytes):
            raise KeyMaterialError(
                f"key material must be bytes, got {type(self.material).__name__}"
            )
        if len(self.material) not in KEY_LENGTHS:
            raise KeyMaterialError(f"key is {len(self.material)} bytes, expecting 8, 16 or 24")
        object.__setattr__(self, "_kcv", check_value_of(self.material))

    @classmethod
    def from_hex(cls, text: str, *, require_odd_parity: bool = False) -> Key:
        """Parse 16, 32 or 48 hex digits (whitespace around them is ignored).

        Errors name the length or the offending position, never the digits themselves.
        """
        digits = text.strip()
        if len(digits) not in (2 * n for n in KEY_LENGTHS):
            raise KeyMaterialError.said("key.hex_length", length=len(digits))
        for pos, ch in enumerate(digits):
            if ch not in "0123456789abcdefABCDEF":
                raise KeyMaterialError.said("key.hex_char", pos=pos)
        key = cls(binascii.unhexlify(digits))
        if require_odd_parity and not key.has_odd_parity:
            bad = [i for i, b in enumerate(key.material) if not _odd_parity(b)]
            raise KeyMaterialError.said("key.parity", offsets=bad)
        return key

    def __len__(self) -> int:
        return len(self.material)

    @property
    def check_value(self) -> bytes:
        """The 4-byte check value (see :func:`check_value`)."""
        return self._kcv

    @property
    def has_odd_parity(self) -> bool:
        return all(_odd_parity(b) for b in self.material)

    def hex(self) -> str:
        """The key as upper-case hex: the explicit opt-in for showing key material."""
        return self.material.hex().upper()

    def __repr__(self) -> str:
        # Three bytes of check value is the usual display form (as on key ceremony forms).
        return f"Key({len(self.material)}B kcv={self._kcv.hex().upper()})"

    __str__ = __repr__


def check_value_of(material: bytes) -> bytes:
    """The first 4 bytes of ``material`` encrypting eight zero bytes (DES or 3DES by length)."""
    return encrypt_ecb(material, bytes(8))[:CHECK_VALUE_LENGTH]


def check_value(key: Key) -> bytes:
    """The key's 4-byte check value: DES for an 8-byte key, 3DES for 16 or 24 bytes.

    >>> check_value(Key.from_hex("5BB5C72CD00B7338")).hex().upper()
    'AB7153CA'
    """
    return key.check_value


def check_value_text(key: Key) -> str:
    """The check value as shown everywhere (terminal, host, errors, doctor): 4 bytes, 8 hex
    digits, the length field 62 carries (protocol §6).

    >>> check_value_text(Key.from_hex("5BB5C72CD00B7338"))
    'AB7153CA'
    """
    return key.check_value.hex().upper()


def generate_key(length: int) -> Key:
    """A fresh random key of ``length`` bytes (8, 16 or 24) with odd parity."""
    if length not in KEY_LENGTHS:
        raise KeyMaterialError(f"cannot generate a {length}-byte key, expecting 8, 16 or 24")
    return Key(adjust_key_parity(secrets.token_bytes(length)))


@dataclass(frozen=True)
class WorkingKeys:
    """The session keys a sign-on hands a terminal: a double-length PIK and a single MAK."""

    pik: Key
    mak: Key

    def __post_init__(self) -> None:
        if len(self.pik) != PIK_LENGTH:
            raise KeyMaterialError(f"PIK is {len(self.pik)} bytes, expecting {PIK_LENGTH}")
        if len(self.mak) != MAK_LENGTH:
            raise KeyMaterialError(f"MAK is {len(self.mak)} bytes, expecting {MAK_LENGTH}")


def _require_tmk(tmk: Key) -> None:
    if len(tmk) not in (16, 24):
        raise KeyMaterialError(f"TMK is {len(tmk)} bytes, expecting 16 or 24 (double length)")


def encode_field62(tmk: Key, keys: WorkingKeys) -> bytes:
    """The 40-byte 0810 field 62: both working keys 3DES-ECB under ``tmk`` with check values."""
    _require_tmk(tmk)
    return b"".join(
        (
            tdes_encrypt_ecb(tmk.material, keys.pik.material),
            keys.pik.check_value,
            tdes_encrypt_ecb(tmk.material, keys.mak.material),
            bytes(8),
            keys.mak.check_value,
        )
    )


def _verify_check_value(name: WorkingKeyName, key: Key, expected: bytes) -> None:
    if not secrets.compare_digest(key.check_value, expected):
        raise KeyCheckError(name, expected=expected, actual=key.check_value)


def decode_field62(tmk: Key, data: bytes) -> WorkingKeys:
    """Decrypt field 62 under ``tmk`` and verify both check values.

    Raises :class:`KeyCheckError` naming the key whose check value does not match (a
    terminal in that state stays signed off), :class:`KeyMaterialError` if the field is
    not the 40-byte mode-``003`` layout.
    """
    _require_tmk(tmk)
    if len(data) != FIELD62_LENGTH:
        raise KeyMaterialError(
            f"field 62 is {len(data)} bytes, expecting {FIELD62_LENGTH} (mode 003 layout)"
        )
    if data[28:36] != bytes(8):
        raise KeyMaterialError(
            f"field 62 bytes 28..35 must be zero, got {data[28:36].hex().upper()}"
        )
    pik = Key(tdes_decrypt_ecb(tmk.material, data[0:16]))
    mak = Key(tdes_decrypt_ecb(tmk.material, data[20:28]))
    _verify_check_value("PIK", pik, bytes(data[16:20]))
    _verify_check_value("MAK", mak, bytes(data[36:40]))
    return WorkingKeys(pik=pik, mak=mak)


def issue_working_keys(tmk: Key) -> tuple[WorkingKeys, bytes]:
    """Fresh random PIK and MAK for a sign-on, with the field 62 that carries them."""
    keys = WorkingKeys(pik=generate_key(PIK_LENGTH), mak=generate_key(MAK_LENGTH))
    return keys, encode_field62(tmk, keys)

"""ISO 9564 format 0 PIN blocks, encrypted 3DES-ECB under a PIN key (field 52).

This module is possettle's HSM for PINs and the only place a PIN block is built or opened.
The PIN pad encrypts under the terminal's PIK; the host *translates* the block from the PIK
to the zone PIN key (ZPK) it shares with the issuer; the issuer *verifies* it under the ZPK.
Neither of the last two ever gets a clear PIN back — :func:`translate_pin_block` and
:func:`pin_matches` decode and compare in here. Outside ``possettle.crypto`` nothing decrypts
a PIN block (a test scans the sources for it).

Encoding uses psec's ``encode_pinblock_iso_0``; decoding is done here because psec's
decode errors quote the PIN digits, and no message or exception cause in possettle may
hold a PIN. A clear PIN travels as :class:`Pin`, whose ``repr`` is always ``Pin(****)``.

>>> pan = "6222021234567890128"
>>> pik = Key.from_hex("807A23AD32B36D457AE91FDF927570EA")
>>> field52 = encrypt_pin_block(pik, "123456", pan)
>>> field52.hex().upper()
'BDFD42DCF960C8B6'
>>> zpk = Key.from_hex("0123456789ABCDEFFEDCBA9876543210")
>>> upstream = translate_pin_block(pik, zpk, field52, pan)
>>> upstream.hex().upper()
'2A084C604973D4AE'
>>> pin_matches(zpk, upstream, pan, "123456"), pin_matches(zpk, upstream, pan, "654321")
(True, False)
"""

from __future__ import annotations

import binascii
import hmac
from dataclasses import dataclass

from psec.pinblock import encode_pinblock_iso_0

from possettle.crypto.des import tdes_decrypt_ecb, tdes_encrypt_ecb
from possettle.crypto.errors import PinBlockError
from possettle.crypto.keys import Key

PIN_BLOCK_LENGTH = 8
MIN_PIN, MAX_PIN = 4, 12


@dataclass(frozen=True, repr=False)
class Pin:
    """A clear PIN of 4 to 12 digits that never shows itself in ``repr``/``str``."""

    digits: str

    def __post_init__(self) -> None:
        if not (self.digits.isascii() and self.digits.isdigit()):
            raise PinBlockError("PIN must be ASCII digits only")
        if not MIN_PIN <= len(self.digits) <= MAX_PIN:
            raise PinBlockError(f"PIN is {len(self.digits)} digits, expecting 4 to 12")

    def __repr__(self) -> str:
        return "Pin(****)"

    __str__ = __repr__


def _pan_block(pan: str) -> bytes:
    # The 12 rightmost PAN digits excluding the check digit, after four zero nibbles.
    if not (pan.isascii() and pan.isdigit()) or len(pan) < 13:
        raise PinBlockError(f"PAN must be 13 or more digits for PIN format 0, got {len(pan)} chars")
    return b"\x00\x00" + binascii.unhexlify(pan[-13:-1])


def _require_pik(pik: Key) -> None:
    if len(pik) not in (16, 24):
        raise PinBlockError(f"PIN key is {len(pik)} bytes, expecting 16 or 24 (3DES)")


def encrypt_pin_block(pik: Key, pin: str | Pin, pan: str) -> bytes:
    """The 8-byte field 52: the format 0 PIN block of ``pin`` and ``pan`` under ``pik``."""
    _require_pik(pik)
    clear = pin if isinstance(pin, Pin) else Pin(pin)
    _pan_block(pan)  # our own, PIN-free validation before psec sees the values
    return tdes_encrypt_ecb(pik.material, encode_pinblock_iso_0(clear.digits, pan))


def _decode_format0(clear_block: bytes, pan: str) -> Pin:
    pan_block = _pan_block(pan)
    nibbles = bytes(a ^ b for a, b in zip(clear_block, pan_block, strict=True)).hex().upper()
    if nibbles[0] != "0":
        raise PinBlockError(f"PIN block is not ISO format 0: control nibble {nibbles[0]}")
    length = int(nibbles[1], 16)
    if not MIN_PIN <= length <= MAX_PIN:
        raise PinBlockError(f"PIN block gives a PIN length of {length}, expecting 4 to 12")
    digits, filler = nibbles[2 : 2 + length], nibbles[2 + length :]
    # Positions only: the nibbles themselves are PIN digits.
    if filler != "F" * len(filler):
        raise PinBlockError("PIN block filler after the PIN is not all F (wrong key or PAN?)")
    if not digits.isdigit():
        raise PinBlockError("PIN block holds non-decimal PIN nibbles (wrong key or PAN?)")
    return Pin(digits)


def decrypt_pin(pik: Key, block: bytes, pan: str) -> str:
    """The clear PIN from an encrypted format 0 block (errors never contain the PIN)."""
    return decrypt_pin_value(pik, block, pan).digits


def decrypt_pin_value(pik: Key, block: bytes, pan: str) -> Pin:
    """As :func:`decrypt_pin`, but the PIN stays wrapped in a masked :class:`Pin`."""
    _require_pik(pik)
    if len(block) != PIN_BLOCK_LENGTH:
        raise PinBlockError(f"PIN block is {len(block)} bytes, expecting {PIN_BLOCK_LENGTH}")
    return _decode_format0(tdes_decrypt_ecb(pik.material, bytes(block)), pan)


def translate_pin_block(from_key: Key, to_key: Key, block: bytes, pan: str) -> bytes:
    """Re-encrypt a format 0 PIN block from one PIN key to another (e.g. PIK to upstream ZPK).

    The block is decoded and checked on the way, so a block under the wrong key is refused
    here rather than passed upstream.
    """
    pin = decrypt_pin_value(from_key, block, pan)
    return encrypt_pin_block(to_key, pin, pan)


def check_pin_block(key: Key, block: bytes, pan: str) -> None:
    """Raise :class:`PinBlockError` unless ``block`` is a format 0 block for ``pan`` under ``key``.

    For a host with no zone key towards its issuer: it can still refuse an unreadable block.
    """
    decrypt_pin_value(key, block, pan)


def pin_matches(key: Key, block: bytes, pan: str, expected: str | Pin) -> bool:
    """Whether the PIN in ``block`` (format 0 for ``pan`` under ``key``) is ``expected``.

    The issuer's PIN verification. A block that does not decode — wrong key, wrong PAN,
    garbage, wrong length — holds no PIN, so it matches nothing: ``False``. Caller misuse (a
    key that is not 3DES, a PAN or an ``expected`` no format 0 block can carry) raises
    :class:`PinBlockError`. The comparison takes the same time wherever the PINs differ.
    """
    _require_pik(key)
    _pan_block(pan)
    want = expected if isinstance(expected, Pin) else Pin(expected)
    try:
        got = decrypt_pin_value(key, block, pan)
    except PinBlockError:
        return False
    return hmac.compare_digest(got.digits.encode(), want.digits.encode())

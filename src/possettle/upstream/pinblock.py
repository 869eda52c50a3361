"""The upstream PIN block: ISO 9564 format 0 encrypted under the zone PIN key (ZPK).

A PIN block is one 8-byte block, so 3DES in ECB mode is what the standard prescribes. A
double-length key K1K2 is used as the equivalent triple-length K1K2K1: cryptography deprecates
(warns on) 16-byte TripleDES keys.

>>> zpk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
>>> encrypted_pin_block("1234", "5544332211009966", zpk).hex().upper()
'24B5254F5321BBC2'
"""

from __future__ import annotations

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from psec.pinblock import encode_pinblock_iso_0

from possettle.upstream.errors import UpstreamRequestError


def encrypted_pin_block(pin: str, pan: str, zpk: bytes) -> bytes:
    try:
        clear = encode_pinblock_iso_0(pin, pan)
    except ValueError as exc:
        # psec's messages describe lengths only ("PIN must be between 4 and 12 digits long").
        raise UpstreamRequestError(f"cannot build the PIN block: {exc}") from exc
    if len(zpk) not in (16, 24):
        raise UpstreamRequestError(f"a ZPK is 16 or 24 bytes, got {len(zpk)}")
    key = zpk + zpk[:8] if len(zpk) == 16 else zpk
    encryptor = Cipher(TripleDES(key), modes.ECB()).encryptor()  # noqa: S305 - one block
    return encryptor.update(clear) + encryptor.finalize()

"""The UnionPay "ECB" MAC of protocol §6, over the ISO body from the MTI up to field 64.

1. pad the data with ``00`` to a multiple of 8 and XOR all 8-byte blocks into R;
2. write R as 16 upper-case hex characters;
3. encrypt the first 8 characters (as ASCII) with the MAK, XOR the result with the last 8;
4. encrypt again and write the result as 16 upper-case hex characters;
5. the MAC is the first 8 of those characters, as ASCII bytes.

"Encrypt" is single DES for the protocol's 8-byte MAK, and 3DES if a 16-byte MAK is used.

>>> mak = Key.from_hex("5BB5C72CD00B7338")
>>> unionpay_ecb_mac(mak, b"0200")
b'BC971EEE'
"""

from __future__ import annotations

import hmac

from possettle.crypto.des import BLOCK, ecb_cipher
from possettle.crypto.keys import Key

MAC_LENGTH = 8


def unionpay_ecb_mac(mak: Key, data: bytes) -> bytes:
    """The 8-byte (ASCII hex) MAC of ``data`` under ``mak``."""
    r = 0
    for i in range(0, len(data), BLOCK):
        # ljust pads only the last, short block with 00.
        r ^= int.from_bytes(data[i : i + BLOCK].ljust(BLOCK, b"\x00"), "big")
    r_hex = r.to_bytes(BLOCK, "big").hex().upper().encode("ascii")
    enc = ecb_cipher(mak.material).encryptor()
    left = int.from_bytes(enc.update(r_hex[:8]), "big")
    mixed = (left ^ int.from_bytes(r_hex[8:], "big")).to_bytes(BLOCK, "big")
    result = enc.update(mixed) + enc.finalize()
    return result.hex().upper()[:MAC_LENGTH].encode("ascii")


def verify_mac(mak: Key, data: bytes, mac: bytes) -> bool:
    """Whether ``mac`` is the MAC of ``data`` under ``mak``, compared in constant time."""
    return hmac.compare_digest(unionpay_ecb_mac(mak, data), mac)

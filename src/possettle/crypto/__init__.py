"""Keys, MAC, PIN blocks and at-rest protection for PS-CUP/1 (protocol §6).

Modules by concern: :mod:`.des` (DES/3DES ECB), :mod:`.keys` (keys, check values, 0810
field 62), :mod:`.mac` (the UnionPay ECB MAC), :mod:`.pin` (ISO 9564 format 0 PIN blocks),
:mod:`.vault` and :mod:`.keyfile` (the host's sealed storage and its master key file),
:mod:`.errors` (the error tree).

psec warns with current cryptography; we use psec for PIN-block formatting and parity only
and do DES through cryptography's decrepit module. (psec's ``des``/``mac`` ciphers use the
deprecated ``cryptography.hazmat.primitives.ciphers.algorithms.TripleDES``.) Since
cryptography 47 the decrepit ``TripleDES`` itself warns for 8- and 16-byte keys, so
:mod:`.des` expands keys to 24 bytes before handing them over. PIN-block *decoding* is ours
too: psec's decode errors quote PIN digits.

Nothing here shows key bytes or PINs in ``repr``/``str`` or in error messages:
``Key(16B kcv=43C6CCCB)``, ``Pin(****)``, ``Vault(key_id=…)``; :meth:`Key.hex` is the opt-in.
"""

from __future__ import annotations

from possettle.crypto.des import des_encrypt_ecb, tdes_decrypt_ecb, tdes_encrypt_ecb
from possettle.crypto.errors import (
    CryptoError,
    KeyCheckError,
    KeyFileError,
    KeyMaterialError,
    PinBlockError,
    VaultError,
)
from possettle.crypto.keys import (
    Key,
    WorkingKeys,
    check_value,
    decode_field62,
    encode_field62,
    generate_key,
    issue_working_keys,
)
from possettle.crypto.mac import unionpay_ecb_mac, verify_mac
from possettle.crypto.pin import (
    Pin,
    check_pin_block,
    decrypt_pin,
    decrypt_pin_value,
    encrypt_pin_block,
    pin_matches,
    translate_pin_block,
)
from possettle.crypto.vault import Vault

__all__ = [
    "CryptoError",
    "Key",
    "KeyCheckError",
    "KeyFileError",
    "KeyMaterialError",
    "Pin",
    "PinBlockError",
    "Vault",
    "VaultError",
    "WorkingKeys",
    "check_pin_block",
    "check_value",
    "decode_field62",
    "decrypt_pin",
    "decrypt_pin_value",
    "des_encrypt_ecb",
    "encode_field62",
    "encrypt_pin_block",
    "generate_key",
    "issue_working_keys",
    "pin_matches",
    "tdes_decrypt_ecb",
    "tdes_encrypt_ecb",
    "translate_pin_block",
    "unionpay_ecb_mac",
    "verify_mac",
]

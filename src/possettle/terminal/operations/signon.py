"""What a 0810 means (protocol §6): working keys and the host's batch, or why not.

::

    SignedOn         00, and field 62 decrypts under the TMK with both check values right;
                     the merchant's name and address when the host sent them after the
                     keys (possettle's extension; a malformed extension is ignored)
    SignOnRefused    any other response code (field 63 says why, e.g. ``MINVER=``)
    KeysUnreadable   00, but field 62 is missing, malformed or fails its check values: the
                     host replaced the session with keys this terminal cannot read

The shell journals what each means and raises :class:`~possettle.terminal.errors.HostRefused`
for the two refusals: a caller that asked to sign on cannot go on.

>>> after_sign_on({"39": "58", "63": "MINVER=010200"}, Key(bytes(16)))
SignOnRefused(code='58', text='MINVER=010200')
"""

from __future__ import annotations

from dataclasses import dataclass

from possettle.crypto.errors import CryptoError
from possettle.crypto.keys import FIELD62_LENGTH, Key, WorkingKeys, decode_field62
from possettle.iso8583 import merchant_info
from possettle.iso8583.codec import Fields
from possettle.iso8583.fields import Field60


@dataclass(frozen=True, slots=True)
class SignedOn:
    keys: WorkingKeys
    batch: int  # the host's batch number (field 60.2)
    #: the merchant's name and address from the host; None when it sent none (older hosts)
    merchant: merchant_info.MerchantInfo | None = None


@dataclass(frozen=True, slots=True)
class SignOnRefused:
    code: str
    text: str  # field 63 as the host sent it


@dataclass(frozen=True, slots=True)
class KeysUnreadable:
    """The error that field 62 raised, kept as the cause of the refusal the shell raises."""

    error: CryptoError | KeyError | ValueError


SignOnOutcome = SignedOn | SignOnRefused | KeysUnreadable


def after_sign_on(reply: Fields, tmk: Key) -> SignOnOutcome:
    """The 0810 ``reply`` read with the terminal's ``tmk``."""
    code = reply.get("39", "")
    if code != "00":
        return SignOnRefused(code, reply.get("63", ""))
    try:
        raw = bytes.fromhex(reply["62"])
        keys = decode_field62(tmk, raw[:FIELD62_LENGTH])
    except (CryptoError, KeyError, ValueError) as exc:
        return KeysUnreadable(exc)
    return SignedOn(keys, Field60.parse(reply["60"]).batch, _merchant(raw[FIELD62_LENGTH:]))


def _merchant(extension: bytes) -> merchant_info.MerchantInfo | None:
    """What follows the keys; a host that sent none, or something unreadable, gives None
    (the receipts keep the name the terminal already has)."""
    if not extension:
        return None
    try:
        info = merchant_info.decode(extension)
    except ValueError:
        return None
    return info if info.name or info.address else None

"""What a 0810 means (protocol §6): working keys and the host's batch, or why not.

::

    SignedOn         00, and field 62 decrypts under the TMK with both check values right
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
from possettle.crypto.keys import Key, WorkingKeys, decode_field62
from possettle.iso8583.codec import Fields
from possettle.iso8583.fields import Field60


@dataclass(frozen=True, slots=True)
class SignedOn:
    keys: WorkingKeys
    batch: int  # the host's batch number (field 60.2)


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
        keys = decode_field62(tmk, bytes.fromhex(reply["62"]))
    except (CryptoError, KeyError, ValueError) as exc:
        return KeysUnreadable(exc)
    return SignedOn(keys, Field60.parse(reply["60"]).batch)

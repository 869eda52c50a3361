"""Field 52 on its way to the issuer: translated from the terminal's PIK to the issuer's ZPK.

The host holds no clear PIN. As an HSM's translate command does, :func:`upstream_pin_block`
has :func:`possettle.crypto.pin.translate_pin_block` decrypt the terminal's block under the
PIK and re-encrypt it under the zone PIN key the connector shares with its issuer; the
issuer gets only that block. A block that does not decrypt under the PIK (a PIN pad with a
stale or foreign key, a tampered field) raises :class:`PinBlockError`, and the handler
answers ``55`` itself without asking the issuer (protocol notes, "Upstream").
"""

from __future__ import annotations

from possettle.crypto.errors import PinBlockError
from possettle.crypto.keys import Key
from possettle.crypto.pin import check_pin_block, translate_pin_block
from possettle.host.request import Request
from possettle.ledger.terminal_state import TerminalState


def upstream_pin_block(
    req: Request, state: TerminalState, pan: str, zpk: Key | None
) -> bytes | None:
    """The PIN block for the issuer, under ``zpk``; None when there is none to send.

    None without a field 52, and when the connector has no ZPK: the block is then only
    checked to be readable under the PIK and the issuer gets no PIN. Raises
    :class:`~possettle.crypto.errors.PinBlockError` for a block the PIK cannot open (or a
    terminal without a PIK: fail closed, never forward a PIN nobody checked).
    """
    if "52" not in req.fields:
        return None
    if state.pik is None:
        raise PinBlockError("a PIN block arrived from a terminal that holds no PIK")
    block = bytes.fromhex(req.fields["52"])
    if zpk is None:
        check_pin_block(state.pik, block, pan)
        return None
    return translate_pin_block(state.pik, zpk, block, pan)

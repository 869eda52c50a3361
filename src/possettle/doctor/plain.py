"""The doctor in a merchant's words: how likely a cause is, and where the trouble is.

A merchant on the phone with support follows "most likely the printer", not
``printer.paper_out (hardware) — 93 %``: the text report says the likelihood in words (its
band of the score, and first or not) and the cause's *place* — the thing a merchant can look
at or call (the printer, the shop's network, the acquirer). The numbers, ids and groups stay in
``--json`` and in the operator view (``--verbose``). Each word is a key of the wording catalog
(``likelihood.<band>``, ``place.<place>``).

>>> likelihood(1, 0.93), likelihood(2, 0.6), likelihood(2, 0.3), likelihood(3, 0.05)
('most_likely', 'also_likely', 'possible', 'less_likely')
>>> PLACE["host.unreachable"].value
'acquirer'
"""

from __future__ import annotations

from enum import StrEnum

# A cause scoring this much or more is "likely" (the first such: "most likely"); from
# POSSIBLE up it is "possible", below it "less likely" (the doctor lists it all the same).
LIKELY = 0.5
POSSIBLE = 0.2


def likelihood(rank: int, score: float) -> str:
    """The band of a diagnosis's score, in words (``rank`` counts from 1)."""
    if score >= LIKELY:
        return "most_likely" if rank == 1 else "also_likely"
    if score >= POSSIBLE:
        return "possible"
    return "less_likely"


class Place(StrEnum):
    """Where the trouble is, as a merchant can point at it."""

    PRINTER = "printer"
    READER = "reader"
    SHOP_NETWORK = "shop_network"
    AREA_NETWORK = "area_network"
    POS = "pos"
    POS_SOFTWARE = "pos_software"
    RECORDS = "records"
    ACQUIRER = "acquirer"
    CARD_NETWORK = "card_network"
    WALLET = "wallet"
    OPERATION = "operation"
    POWER = "power"
    UNKNOWN = "unknown"


P = Place
PLACE: dict[str, Place] = {
    "printer.paper_out": P.PRINTER,
    "printer.fault": P.PRINTER,
    "reader.fault": P.READER,
    "link.down": P.SHOP_NETWORK,
    "storage.full": P.POS,
    "storage.corrupt": P.POS,
    "device.overheat": P.POS,
    "software.outdated": P.POS_SOFTWARE,
    "software.crash": P.POS_SOFTWARE,
    "protocol.incompatible": P.POS_SOFTWARE,
    "keys.out_of_sync": P.POS,
    "batch.out_of_balance": P.RECORDS,
    "batch.sequence_mismatch": P.RECORDS,
    "batch.already_settled": P.ACQUIRER,
    "reversal.stuck": P.RECORDS,
    "network.unstable": P.SHOP_NETWORK,
    "host.unreachable": P.ACQUIRER,
    "issuer.unavailable": P.CARD_NETWORK,
    "gateway.error": P.WALLET,
    "permission.denied": P.ACQUIRER,
    "terminal.unregistered": P.ACQUIRER,
    "telemetry.missing": P.SHOP_NETWORK,
    "input.invalid": P.OPERATION,
    "operation.out_of_order": P.OPERATION,
    "operation.outside_hours": P.OPERATION,
    "operation.restricted": P.ACQUIRER,
    "operator.auth_failed": P.OPERATION,
    "operator.cancelled": P.OPERATION,
    "power.interrupted": P.POWER,
    "region.outage": P.AREA_NETWORK,
    "external.undetected": P.UNKNOWN,
    # the support desk's causes (docs/doctor.md, Causes)
    "link.sim_inactive": P.SHOP_NETWORK,
    "device.battery_low": P.POWER,
    "reversal.abandoned": P.ACQUIRER,
    "params.missing": P.POS_SOFTWARE,
    "keys.master_missing": P.POS,
    "merchant.frozen": P.ACQUIRER,
}

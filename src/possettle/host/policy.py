"""Host policies the request path reads from the ledger (``host_policy``), cached per process.

``possettle host policy`` writes them; a running host sees a change within ``ttl`` seconds
(``HostConfig.policy_cache_ttl``). The cache is there for the path an attacker can drive: a
settlement without a MAC is the only message that needs ``settlement_mac``, and a flood of
them must not become a flood of ledger reads.

>>> SettlementMac.parse("optional")
<SettlementMac.OPTIONAL: 'optional'>
>>> SettlementMac.parse("sometimes")  # nobody meant this: fail safe
<SettlementMac.REQUIRED: 'required'>
"""

from __future__ import annotations

from enum import StrEnum

import structlog

from possettle.ledger.database import Database
from possettle.ledger.queries import get_policy

log = structlog.get_logger("possettle.host")

#: ``host_policy`` name: whether 0500 and 0320 must carry a MAC (docs/protocol.md)
SETTLEMENT_MAC = "settlement_mac"


class SettlementMac(StrEnum):
    """Whether a settlement (0500) or batch upload (0320) must carry field 64.

    ``required`` (the default): no MAC, or a MAC that does not verify, is refused with ``A0``.
    ``optional`` (less safe, for fleets whose terminals cannot MAC a settlement): a settlement
    without field 64 is accepted as before the dialect required it, so anyone who knows a
    TID and MID can close that terminal's batch; a MAC that is present must still verify.
    """

    REQUIRED = "required"
    OPTIONAL = "optional"

    @classmethod
    def parse(cls, value: str) -> SettlementMac:
        try:
            return cls(value)
        except ValueError:
            return cls.REQUIRED


DEFAULT_SETTLEMENT_MAC = SettlementMac.REQUIRED


class PolicyCache:
    """The host's policies as the ledger last said, re-read once they are ``ttl`` seconds old
    (the database clock's monotonic time); ``ttl=0`` reads the ledger every time."""

    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._settlement_mac: tuple[float, SettlementMac] | None = None

    async def settlement_mac(self) -> SettlementMac:
        now = self._db.clock.monotonic()
        hit = self._settlement_mac
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        stored = await self._db.lookup(
            lambda c: get_policy(c, SETTLEMENT_MAC, DEFAULT_SETTLEMENT_MAC.value)
        )
        value = SettlementMac.parse(stored)
        if value.value != stored:
            log.warning("unknown host policy value: MACs stay required", name=SETTLEMENT_MAC)
        if value is SettlementMac.OPTIONAL and (hit is None or hit[1] is not value):
            log.warning("settlement MAC optional: settlements without a MAC are accepted")
        self._settlement_mac = (now, value)
        return value

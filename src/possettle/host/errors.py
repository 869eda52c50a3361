"""The host package's error tree.

::

    PossettleError
    └── HostError                  root: anything the host raises on purpose
        ├── RegistryError          caller misuse of the registry: bad TID/MID format,
        │                          duplicate TID/MID, unknown MID or TID (names which)
        ├── LedgerConflict         an idempotency key reused with different content
        ├── StaleTerminalState     a write found the terminal changed since the request was
        │                          decided (another request or host process): nothing booked
        └── ListenError            an address to serve terminals or /metrics on cannot be
                                   bound (in use, not permitted); names which and why

The ledger the host writes has its own tree (:mod:`possettle.ledger.errors`): the host catches
:class:`~possettle.ledger.errors.LedgerError` where it reads or writes the ledger.
Messages never contain a clear PAN or key material.
"""

from __future__ import annotations

from possettle.errors import PossettleError


class HostError(PossettleError):
    """Base of every error the host package raises."""


class RegistryError(HostError):
    """The registry was misused: a bad or duplicate TID/MID, or an unknown one."""


class LedgerConflict(HostError):
    """An idempotency key (TID + batch + STAN + MTI/kind) was reused with different content."""


class StaleTerminalState(HostError):
    """The terminal's state changed between deciding a request and writing it; nothing was
    written, and the request is decided again on the ledger's state."""


class ListenError(HostError):
    """The host could not listen where it was told to (the port is taken, say)."""

"""The host package's error tree.

::

    PossettleError
    └── HostError                  root: anything the host raises on purpose
        ├── RegistryError          caller misuse of the registry: bad TID/MID format,
        │                          duplicate TID/MID, unknown MID or TID (names which)
        ├── LedgerConflict         an idempotency key reused with different content
        ├── StaleTerminalState     a write found the terminal changed since the request was
        │                          decided (another request or host process): nothing booked
        ├── ListenError            an address to serve terminals or /metrics on cannot be
        │                          bound (in use, not permitted); names which and why
        └── DatabaseError          the database failed (translated from SQLAlchemy / driver
            │                      errors at one boundary, with ``raise ... from exc``)
            └── IntegrityViolation a unique or foreign key constraint refused a write

SQLAlchemy's and the drivers' exceptions are translated in exactly one place,
:func:`possettle.host.ledger.db.translate`, so the cause chain stays intact for the doctor.
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


class DatabaseError(HostError):
    """The ledger database failed; ``__cause__`` holds the SQLAlchemy / driver error."""


class IntegrityViolation(DatabaseError):
    """A unique or foreign key constraint refused a write (e.g. a concurrent duplicate)."""

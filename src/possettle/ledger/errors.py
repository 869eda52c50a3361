"""The ledger package's error tree.

::

    PossettleError
    └── LedgerError                root: anything the ledger raises on purpose
        ├── LedgerClosed           a read or write asked of a database or writer that is not
        │                          running (not started, closing, closed, or stopped by a fault)
        └── DatabaseError          the database failed (translated from SQLAlchemy / driver
            │                      errors at one boundary, with ``raise ... from exc``)
            └── IntegrityViolation a unique or foreign key constraint refused a write

SQLAlchemy's and the drivers' exceptions are translated in exactly one place,
:func:`possettle.ledger.engine.translate`, so the cause chain stays intact for the doctor.
The host writes the ledger and the other packages read it; each catches :class:`LedgerError`
where it uses the ledger. Messages never contain a clear PAN or key material.
"""

from __future__ import annotations

from possettle.errors import PossettleError


class LedgerError(PossettleError):
    """Base of every error the ledger package raises."""


class LedgerClosed(LedgerError):
    """The database or its writer is not running, so the read or write was refused."""


class DatabaseError(LedgerError):
    """The ledger database failed; ``__cause__`` holds the SQLAlchemy / driver error."""


class IntegrityViolation(DatabaseError):
    """A unique or foreign key constraint refused a write (e.g. a concurrent duplicate)."""

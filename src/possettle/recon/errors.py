"""The reconciliation package's error tree (one per package; see :mod:`possettle.errors`).

::

    ReconError                    the ledger could not be read for reconciliation
    └── ExtensionError            a DuckDB extension missing, or built for another DuckDB
"""

from __future__ import annotations

from possettle.errors import PossettleError


class ReconError(PossettleError):
    """The ledger could not be read for reconciliation (DuckDB could not attach or read it)."""


class ExtensionError(ReconError):
    """A DuckDB extension's package is missing, lacks the file, or matches another DuckDB."""

"""Reconciliation: the ledger read with DuckDB beside the clearing files (issue 14; see
docs/clearing.md, "Reading the ledger with DuckDB").

Modules by concern:

* :mod:`.duck` a DuckDB connection with the ledger attached read-only as ``ledger``, its
  extensions loaded from their PyPI packages (never downloaded)
* :mod:`.errors` the package's one error tree
"""

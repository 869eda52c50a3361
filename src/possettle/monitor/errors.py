"""The monitor's error tree.

::

    MonitorError
    ├── AlertError    an alert that does not exist, or an action its state does not allow
    └── AuditError    an audit entry that cannot be written as given (empty or too long fields)

The console meets these only in :mod:`possettle.console.bridge`, which turns them into its own
``ActionRefused``.
"""

from __future__ import annotations

from possettle.errors import PossettleError


class MonitorError(PossettleError):
    """Base of every error the monitor raises on purpose."""


class AlertError(MonitorError):
    """An alert that does not exist, or an action its state does not allow."""


class AuditError(MonitorError):
    """An audit entry that cannot be written as given (empty or too long fields)."""

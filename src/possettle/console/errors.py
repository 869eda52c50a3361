"""The console's error tree.

::

    ConsoleError
    ├── LoginRefused     a login did not succeed; ``locked_until`` is set when the account is
    │                    locked
    ├── LoginRequired    no valid session: the login page, or 401 under ``/api/``
    ├── ActionRefused    a terminal or alert action cannot apply (unknown terminal or alert, an
    │                    alert already closed)
    └── UserRejected     a console user cannot be added (the name or password rules)
        └── UserExists   the name is taken

Lower-layer errors are translated once, where the console calls them, with
``raise ... from exc``: the monitor's ``AlertError`` in :mod:`.bridge`, the host's
``RegistryError`` in :mod:`.actions`, SQLAlchemy's ``IntegrityError`` in :mod:`.auth`.
"""

from __future__ import annotations

from datetime import datetime

from possettle.errors import PossettleError


class ConsoleError(PossettleError):
    """Base of every error the console raises on purpose."""


class LoginRefused(ConsoleError):
    """A login that did not succeed; ``locked_until`` is set when the account is locked."""

    def __init__(self, locked_until: datetime | None = None) -> None:
        super().__init__("login refused")
        self.locked_until = locked_until


class LoginRequired(ConsoleError):
    """No valid session: a redirect to the login page (401 under ``/api/``)."""


class ActionRefused(ConsoleError):
    """The action cannot apply (unknown terminal or alert, alert already closed); says why."""


class UserRejected(ConsoleError):
    """A console user that cannot be added as given; says which rule."""


class UserExists(UserRejected):
    """A console user of that name exists already."""

"""The simulator's error tree.

::

    SimError
    ├── HostProcessError   the host process did not start or answer (host_process.py)
    └── FuzzDriverError    the fuzzer lost the host: it died, or stopped listening

The terminals a simulation drives raise the terminal's own tree
(:mod:`possettle.terminal.errors`), which the simulator records, never the link's.
"""

from __future__ import annotations

from possettle.errors import PossettleError


class SimError(PossettleError):
    """Base of every error the simulator raises on purpose."""


class HostProcessError(SimError):
    """The host process did not start or answer."""


class FuzzDriverError(SimError):
    """The host could not be reached any more (it died, or stopped listening)."""

"""The support desk's sentences (``support/locale/{en,zh}.toml``): for every cause of the
catalog what to do (``cause.<id>.remedy``) and what not to do (``cause.<id>.avoid``), in words
a merchant follows on the phone, and the evidence, notes and escalation lines.

Same keys and placeholders in both languages (``tests/support/test_wording.py``).
"""

from __future__ import annotations

from possettle.catalogs import Catalog
from possettle.support.errors import SupportError


class SupportWordingError(SupportError, LookupError):
    """The code asked for a sentence the support catalog lacks (our bug)."""


_CATALOG = Catalog(__package__, SupportWordingError, label="support/locale", shared_values=False)
say = _CATALOG.say
has = _CATALOG.has
sentences = _CATALOG.sentences

"""The support desk's error tree (one per package; see :mod:`possettle.errors`).

::

    SupportError                  the support desk could not do what was asked
    ├── UnknownIdError            a question, answer, acquirer or cause id that is not in the data
    ├── DataFileError             a data file under support/data is malformed (our bug), with
    │                             file, table and key
    ├── PhotoError                a photo that cannot be read (not an image, too large, OCR
    │                             unavailable)
    └── TicketError               a support ticket that cannot be saved or found
"""

from __future__ import annotations

from possettle.errors import PossettleError


class SupportError(PossettleError):
    """The support desk could not do what was asked."""


class UnknownIdError(SupportError):
    """A question, answer, acquirer or cause id that the data does not have."""


class DataFileError(SupportError):
    """A data file of the support desk is malformed: names the file, the table and the key."""


class PhotoError(SupportError):
    """A photo that cannot be read: not an image, too large, or OCR not installed."""


class TicketError(SupportError):
    """A support ticket that cannot be saved or found."""

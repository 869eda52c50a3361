"""The clearing package's error tree (one per package; see :mod:`possettle.errors`).

::

    ClearingError                 a clearing file could not be written or read
    ├── LayoutError               a record that does not fit the layout (our bug when writing)
    └── FileFormatError           a file that is not in the layout at all (wrong encoding,
                                  no header, not a zip): names the file and where

A bad line inside an otherwise readable file is not an exception: the reader returns it as a
:class:`BadLine`-style result with its line number, byte offset and field, and the run says
the file was read in part.
"""

from __future__ import annotations

from possettle.errors import PossettleError


class ClearingError(PossettleError):
    """A clearing file could not be written or read."""


class LayoutError(ClearingError):
    """A record does not fit the layout: a value too long for its field, a bad amount."""


class FileFormatError(ClearingError):
    """A file that is not in the expected format at all; the message names file and place."""

"""The clearing file's name: the variant and the clearing date, so a reader can rebuild the
year of every ``MMDDhhmmss`` time. possettle's own pattern (the spec's names are not public):
``ACOMA_20261208.txt``, with its checksum file ``ACOMA_20261208.sum`` beside it."""

from __future__ import annotations

import re
from datetime import date

from possettle.clearing.errors import FileFormatError
from possettle.clearing.layout import Variant

_NAME = re.compile(r"(?:^|[/\\])(ACOMA?)_(\d{8})\.(?:txt|sum)$")


def data_name(variant: Variant, clearing: date) -> str:
    """``ACOM_YYYYMMDD.txt`` or ``ACOMA_YYYYMMDD.txt``."""
    return f"{variant.value}_{clearing:%Y%m%d}.txt"


def checksum_name(variant: Variant, clearing: date) -> str:
    """``ACOM_YYYYMMDD.sum`` or ``ACOMA_YYYYMMDD.sum``."""
    return f"{variant.value}_{clearing:%Y%m%d}.sum"


def parse_name(name: str) -> tuple[Variant, date]:
    """The variant and clearing date a file name carries; FileFormatError if it carries none."""
    m = _NAME.search(name)
    if m is None:
        raise FileFormatError(
            f"{name}: not a clearing file name (expected ACOM_YYYYMMDD.txt or ACOMA_YYYYMMDD.txt)"
        )
    try:
        clearing = date(int(m[2][:4]), int(m[2][4:6]), int(m[2][6:]))
    except ValueError as exc:
        raise FileFormatError(f"{name}: {m[2]} is not a date") from exc
    return Variant(m[1]), clearing

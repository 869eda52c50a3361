"""The ACOM / ACOMA clearing file: the public names in one place.

* :mod:`.layout` the record layout as data; :mod:`.record` the typed record
* :mod:`.acom_write` records to byte-exact lines and the named file with its checksum
* :mod:`.acom_read` bytes to records, bad lines reported with line, byte offset and field
* :mod:`.checksum` the companion checksum file; :mod:`.naming` the file names
"""

from __future__ import annotations

from possettle.clearing.acom_read import BadLine, ReadResult, read_bytes, read_path
from possettle.clearing.acom_write import WrittenFile, encode_line, write_file
from possettle.clearing.checksum import Checksum
from possettle.clearing.checksum import parse as parse_checksum
from possettle.clearing.layout import ACOM_FIELDS, ACOMA_FIELDS, Field, Kind, Variant
from possettle.clearing.record import AcomRecord, mask_pan

__all__ = [
    "ACOMA_FIELDS",
    "ACOM_FIELDS",
    "AcomRecord",
    "BadLine",
    "Checksum",
    "Field",
    "Kind",
    "ReadResult",
    "Variant",
    "WrittenFile",
    "encode_line",
    "mask_pan",
    "parse_checksum",
    "read_bytes",
    "read_path",
    "write_file",
]

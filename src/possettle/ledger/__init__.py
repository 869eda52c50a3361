"""The ledger: schema, migrations, the group-commit writer and shared queries (the host writes
it; the doctor, monitor, console, simulator and CLI read it).

Modules by concern: :mod:`.engine` (URLs, engines, error translation), :mod:`.errors` (the
error tree), :mod:`.schema` and
:mod:`.kinds` (tables and their vocabularies), :mod:`.migrate` (Alembic, run from code),
:mod:`.writer` (group commit), :mod:`.database` (engine + writer + vault + clock),
:mod:`.queries` (typed helpers).
"""

from __future__ import annotations

from possettle.ledger.database import Database
from possettle.ledger.engine import create_engine_for, key_file_for, normalize_url
from possettle.ledger.migrate import current_revision, init_db
from possettle.ledger.writer import LedgerWriter, WriterStats

__all__ = [
    "Database",
    "LedgerWriter",
    "WriterStats",
    "create_engine_for",
    "current_revision",
    "init_db",
    "key_file_for",
    "normalize_url",
]

"""The host's ledger: schema, migrations, the group-commit writer and shared queries.

Modules by concern: :mod:`.db` (URLs, engines, error translation), :mod:`.schema` and
:mod:`.kinds` (tables and their vocabularies), :mod:`.migrate` (Alembic, run from code),
:mod:`.writer` (group commit), :mod:`.database` (engine + writer + vault + clock),
:mod:`.queries` (typed helpers).
"""

from __future__ import annotations

from possettle.host.ledger.database import Database
from possettle.host.ledger.db import create_engine_for, key_file_for, normalize_url
from possettle.host.ledger.migrate import current_revision, init_db
from possettle.host.ledger.writer import LedgerWriter, WriterStats

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

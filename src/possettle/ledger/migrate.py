"""Create or upgrade a ledger to the newest schema with the migrations shipped in the package.

No ``alembic.ini`` is involved: :func:`alembic_config` points Alembic at
``possettle/ledger/migrations`` and the upgrade runs on a connection we own, inside one
transaction. Several host processes may start against one PostgreSQL ledger at once, so the
upgrade first takes a transaction-scoped advisory lock; on SQLite ``BEGIN IMMEDIATE`` already
serialises it.

>>> import tempfile
>>> folder = tempfile.TemporaryDirectory()
>>> ledger = str(Path(folder.name) / "ledger.db")
>>> rev = init_db(ledger)
>>> rev == head_revision() == init_db(ledger)  # a second call is a no-op
True
>>> folder.cleanup()
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from possettle.ledger.engine import create_engine_for, redacted, translate

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# An arbitrary constant: the key of the advisory lock that serialises concurrent upgrades.
_PG_LOCK_KEY = 0x5053_4C47  # "PSLG"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged migrations, optionally bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def upgrade_engine(engine: Engine) -> str:
    """Bring the database behind ``engine`` to head in one transaction; returns the revision."""
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            if _revision_of(conn) != head_revision():
                command.upgrade(alembic_config(conn), "head")
            revision = _revision_of(conn)
    except exc.SQLAlchemyError as e:
        raise translate(e, f"migrating ledger {engine.url!r}") from e
    if revision is None:  # pragma: no cover - upgrade to head always stamps
        raise RuntimeError("ledger upgrade left no revision stamped")
    return revision


def init_db(url: str) -> str:
    """Create the ledger at ``url`` or upgrade it to head; returns the revision (idempotent)."""
    engine = create_engine_for(url)
    try:
        return upgrade_engine(engine)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the ledger at ``url`` is at, ``None`` if it was never initialised."""
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return _revision_of(conn)
    except exc.SQLAlchemyError as e:
        raise translate(e, f"reading the schema revision of {redacted(url)}") from e
    finally:
        engine.dispose()


def _revision_of(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()

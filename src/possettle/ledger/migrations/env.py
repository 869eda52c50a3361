"""Alembic environment for the ledger, driven programmatically by ``ledger.migrate``.

There is no alembic.ini: the caller builds the ``Config``, sets ``script_location`` to this
package directory and hands over an open connection in ``config.attributes["connection"]``
(inside the caller's transaction, so the upgrade commits or rolls back as one).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from possettle.errors import ConfigError
from possettle.ledger.schema import metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise ConfigError(
            "ledger migrations run through possettle.ledger.migrate (init_db), "
            "which passes the connection in config.attributes['connection']"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most constraints; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise ConfigError("offline (SQL script) ledger migrations are not supported")
run_migrations_online()

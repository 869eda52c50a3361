"""Hot-path statements compiled once per dialect and run on the DBAPI cursor.

SQLAlchemy Core spends tens of microseconds of Python on every execution (parameter
processing, result metadata, events); the statements a sale runs on every request cost a
few microseconds in SQLite itself. :class:`RawStatement` keeps the Core statement as the one
definition (so it follows the schema and both dialects) and runs its compiled SQL directly.

It is only for statements whose parameters and columns need no type conversion — strings,
integers and bytes — so the driver's values are exactly what SQLAlchemy would have passed and
returned. It runs inside whatever transaction the :class:`~sqlalchemy.engine.Connection`
has; outside one, on SQLite's autocommit connection, a SELECT sees the latest commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Executable


class RawStatement:
    def __init__(self, stmt: Executable) -> None:
        self._stmt = stmt
        # per dialect name: the SQL text and, for positional paramstyles, the parameter order
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}

    def _sql(self, conn: Connection) -> tuple[str, tuple[str, ...] | None]:
        name = conn.dialect.name
        hit = self._compiled.get(name)
        if hit is None:
            compiled = self._stmt.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            order = tuple(compiled.positiontup) if compiled.positional else None
            hit = self._compiled[name] = (compiled.string, order)
        return hit

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Run the statement; returns the DBAPI cursor (close it when done)."""
        sql, order = self._sql(conn)
        args: Sequence[Any] | Mapping[str, Any] = (
            params if order is None else tuple(params[name] for name in order)
        )
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        cursor.execute(sql, args)
        return cursor

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """All result rows as the driver's tuples, in the statement's column order."""
        cursor = self.execute(conn, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """The number of rows an INSERT / UPDATE / DELETE touched."""
        cursor = self.execute(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

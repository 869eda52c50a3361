"""Hot-path statements compiled once per dialect and run on the DBAPI cursor.

SQLAlchemy Core spends tens of microseconds of Python on every execution (parameter
processing, result metadata, events); the statements a sale runs on every request cost a
few microseconds in SQLite itself. :class:`RawStatement` keeps the Core statement as the one
definition (so it follows the schema and both dialects) and runs its compiled SQL directly.

Parameters go through the same bind processors SQLAlchemy would apply (booleans, dates, the
UTC timestamp type), so the rows written are the rows Core would write. Result columns are
the driver's values, unconverted: read only strings, integers and bytes through it. It runs
inside whatever transaction the :class:`~sqlalchemy.engine.Connection` has; outside one, on
SQLite's autocommit connection, a SELECT sees the latest commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Executable


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    positional: bool
    processors: dict[str, Callable[[Any], Any]]
    #: values of the binds the statement carries itself (literals in its WHERE clause)
    defaults: dict[str, Any]


class RawStatement:
    def __init__(self, stmt: Executable) -> None:
        self._stmt = stmt
        # per dialect name, compiled on first use (a memo of immutable values)
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, conn: Connection) -> _Compiled:
        dialect = conn.dialect
        hit = self._compiled.get(dialect.name)
        if hit is None:
            compiled: Any = self._stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
            binds = compiled.binds
            names = tuple(compiled.positiontup) if compiled.positional else tuple(binds)
            processors = {}
            for name, bind in binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors[name] = process
            defaults = {n: b.effective_value for n, b in binds.items() if b.value is not None}
            hit = _Compiled(compiled.string, names, compiled.positional, processors, defaults)
            self._compiled[dialect.name] = hit
        return hit

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Run the statement; returns the DBAPI cursor (close it when done)."""
        c = self._compile(conn)
        values = []
        for name in c.names:
            value = params[name] if name in params else c.defaults[name]
            process = c.processors.get(name)
            values.append(value if process is None else process(value))
        args: Sequence[Any] | Mapping[str, Any] = (
            values if c.positional else dict(zip(c.names, values, strict=True))
        )
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        cursor.execute(c.sql, args)
        return cursor

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """All result rows as the driver's tuples, in the statement's column order."""
        cursor = self.execute(conn, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row (e.g. an INSERT's ``RETURNING id``)."""
        cursor = self.execute(conn, params)
        try:
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """The number of rows an INSERT / UPDATE / DELETE touched."""
        cursor = self.execute(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

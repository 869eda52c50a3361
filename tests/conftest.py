"""Shared database fixtures.

``db_url`` runs a test once on a fresh SQLite file and once on a fresh PostgreSQL database.
The PostgreSQL case needs ``POSSETTLE_TEST_PG`` (a server URL whose user may create
databases, e.g. ``postgresql://postgres@127.0.0.1:5432/test``); without it that case skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import structlog
from psycopg import sql
from sqlalchemy.engine import make_url

PG_ENV = "POSSETTLE_TEST_PG"
PG_SKIP_REASON = (
    f"{PG_ENV} not set: PostgreSQL tests need a server URL, "
    "e.g. postgresql://postgres@127.0.0.1:5432/test"
)


def _pg_conninfo(url: str) -> str:
    """A libpq URI for ``url`` (psycopg does not understand SQLAlchemy's ``+driver``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database (dropped afterwards); yields its URL."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(PG_SKIP_REASON)
    name = f"possettle_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_conninfo(admin_url), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield (
            make_url(_pg_conninfo(admin_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(_pg_conninfo(admin_url), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite ledger file URL in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh ledger URL: a SQLite file, or a new PostgreSQL database (see module doc)."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture(autouse=True)
def _logging_configuration_restored() -> Iterator[None]:
    """A command run in-process (CliRunner) configures logging for the whole process — the
    doctor and the console at WARNING — and so does the first host or terminal started as a
    library (``possettle.logs.ensure_logging``, at INFO): every test starts from the
    configuration the session began with, unconfigured if it was, so that ``ensure_logging``
    still puts the masking pipeline in place for the next one."""
    configured, saved = structlog.is_configured(), structlog.get_config()
    yield
    if configured:
        structlog.configure(**saved)
    else:
        structlog.reset_defaults()

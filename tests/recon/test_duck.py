"""The ledger read through DuckDB: its extensions come from their PyPI packages, never the
network, and the sums DuckDB finds are the ledger's own (SQLite, and PostgreSQL with
``POSSETTLE_TEST_PG``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from possettle.crypto.vault import Vault
from possettle.host.registry import add_merchant, add_terminal
from possettle.ledger.engine import create_engine_for
from possettle.ledger.migrate import init_db
from possettle.ledger.schema import ledger_entries
from possettle.recon.duck import EXTENSIONS, connect, extension_file
from possettle.recon.errors import ExtensionError, ReconError

T0 = datetime(2026, 11, 26, 8, 30, 15, tzinfo=UTC)
MID = "898310048990001"
TID = "12345678"
AMOUNTS = [12_345, 100, 999_999_999_99]  # fen; the last one past 2**31


@pytest.fixture
def ledger(db_url: str) -> Iterator[tuple[str, Engine]]:
    """A migrated ledger (SQLite file or PostgreSQL database) holding three sales."""
    init_db(db_url)
    engine = create_engine_for(db_url)
    with engine.begin() as conn:
        add_merchant(conn, MID, "Test Shop", at=T0)
        add_terminal(conn, Vault(bytes(range(32))), TID, MID, at=T0)
        for n, amount in enumerate(AMOUNTS, start=1):
            conn.execute(
                ledger_entries.insert().values(
                    tid=TID, mid=MID, batch=1, stan=f"{n:06d}", kind="sale", amount=amount,
                    currency="156", domestic=True, debit_amount=amount, debit_count=1,
                    credit_amount=0, credit_count=0, pan_hash="0" * 64,
                    pan_masked="622202******1234", rrn=f"{n:012d}", auth_code="123456",
                    card_org="CUP", host_date=date(2026, 11, 26), clearing_date=date(2026, 11, 26),
                    created_at=T0,
                )
            )  # fmt: skip
    try:
        yield db_url, engine
    finally:
        engine.dispose()


def test_duckdb_reads_the_ledger_counts_and_sums_as_sqlalchemy_does(
    ledger: tuple[str, Engine],
) -> None:
    url, engine = ledger
    with engine.connect() as conn:
        expected = conn.execute(
            sa.select(sa.func.count(), sa.func.sum(ledger_entries.c.amount))
        ).one()
    con = connect(url)
    try:
        found = con.execute("SELECT count(*), sum(amount) FROM ledger.ledger_entries").fetchone()
        stans = con.execute("SELECT stan FROM ledger.ledger_entries ORDER BY stan").fetchall()
    finally:
        con.close()
    assert found is not None
    assert (found[0], int(found[1])) == (expected[0], expected[1]) == (3, sum(AMOUNTS))
    assert [s for (s,) in stans] == ["000001", "000002", "000003"]


def test_the_ledger_is_attached_read_only(ledger: tuple[str, Engine]) -> None:
    con = connect(ledger[0])
    try:
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM ledger.ledger_entries")
    finally:
        con.close()


def test_no_network_the_extension_comes_from_its_package(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a home without ~/.duckdb: nothing is installed there, and nothing may be fetched into it
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    init_db(sqlite_url)
    con = connect(sqlite_url)
    try:
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('autoinstall_known_extensions', 'autoload_known_extensions', "
                "'allow_community_extensions')"
            ).fetchall()
        )
        # an extension nobody loaded is not fetched on first use: the query fails instead
        with pytest.raises(duckdb.Error, match="requires the extension httpfs"):
            con.execute("SELECT * FROM read_csv('https://example.invalid/x.csv')")
    finally:
        con.close()
    assert settings == {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "allow_community_extensions": "false",
    }
    assert not (tmp_path / "home" / ".duckdb").exists()


def test_the_extension_file_is_the_packages() -> None:
    for extension, package, _ in EXTENSIONS.values():
        path = extension_file(package, extension, duckdb.__version__)
        assert path.name == f"{extension}.duckdb_extension"
        assert path.parent.parent.name == f"v{duckdb.__version__}"
        assert "duckdb_ext" in path.parts


def test_an_extension_for_another_duckdb_names_both_versions() -> None:
    with pytest.raises(ExtensionError) as caught:
        extension_file("duckdb-ext-sqlite", "sqlite_scanner", "1.3.2")
    text = str(caught.value)
    assert "1.3.2" in text
    assert f"for DuckDB {duckdb.__version__}" in text
    assert isinstance(caught.value, ReconError)
    assert caught.value.zh is not None


def test_a_missing_extension_package_is_named() -> None:
    with pytest.raises(ExtensionError, match="duckdb-ext-nosuch"):
        extension_file("duckdb-ext-nosuch", "nosuch", duckdb.__version__)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("mysql://u@h/db", "not mysql"),
        ("sqlite://", "on a file"),
        ("not a url", "not a database URL"),
        ("sqlite:////nonexistent/ledger.db", "no SQLite ledger"),
    ],
)
def test_a_ledger_duckdb_cannot_read_is_refused(url: str, match: str) -> None:
    with pytest.raises(ReconError, match=match):
        connect(url)


def test_a_ledger_file_that_is_not_sqlite_is_a_recon_error(tmp_path: Path) -> None:
    bad = tmp_path / "ledger.db"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ReconError, match="could not attach"):
        connect(f"sqlite:///{bad}")

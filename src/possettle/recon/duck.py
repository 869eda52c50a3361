"""A DuckDB connection with the ledger attached read-only as the catalog ``ledger``.

DuckDB reads SQLite and PostgreSQL through its ``sqlite_scanner`` and ``postgres_scanner``
extensions. It never downloads them here: automatic install and load are off, and the
extension is loaded from the file its PyPI package ships (``duckdb-ext-sqlite``,
``duckdb-ext-postgres``), which lies at
``<site-packages>/duckdb_ext/extensions/v<DuckDB version>/<platform>/<name>.duckdb_extension``.
An extension loads only into the DuckDB release it was built for, so the package's version
(the DuckDB version plus a build date, ``1.4.4.20260205``) must start with DuckDB's own;
pyproject.toml pins them together.

``import duckdb`` happens inside the functions: ``possettle --help`` does not pay for it.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from possettle.recon.errors import ExtensionError, ReconError

if TYPE_CHECKING:
    import duckdb

#: the catalog the ledger is attached as: ``SELECT ... FROM ledger.ledger_entries``
CATALOG = "ledger"

#: ledger URL backend -> (DuckDB extension, its PyPI package, ATTACH's TYPE)
EXTENSIONS: dict[str, tuple[str, str, str]] = {
    "sqlite": ("sqlite_scanner", "duckdb-ext-sqlite", "sqlite"),
    "postgresql": ("postgres_scanner", "duckdb-ext-postgres", "postgres"),
}

#: settings that keep DuckDB from fetching anything from the network on its own
OFFLINE_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}


def _quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def extension_file(package: str, extension: str, duckdb_version: str) -> Path:
    """The ``.duckdb_extension`` file of ``extension`` in the installed PyPI ``package``.

    Raises :class:`ExtensionError` when the package is missing, built for a DuckDB other than
    ``duckdb_version`` (both versions named), or lacks the file.
    """
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError as exc:
        raise ExtensionError.in_both(
            f"the DuckDB extension {extension} is not installed: the package {package} "
            f"(for DuckDB {duckdb_version}) is missing; reinstall possettle "
            "(python3 scripts/dev.py lint)",
            f"未安装 DuckDB 扩展 {extension}：缺少软件包 {package}（对应 DuckDB "
            f"{duckdb_version}）；请重新安装 possettle（python3 scripts/dev.py lint）",
        ) from exc
    built_for = ".".join(dist.version.split(".")[:3])
    if built_for != duckdb_version:
        raise ExtensionError.in_both(
            f"{package} {dist.version} holds the {extension} extension for DuckDB {built_for}, "
            f"but the DuckDB installed is {duckdb_version}: install them at matching versions "
            "(pinned together in pyproject.toml)",
            f"{package} {dist.version} 中的 {extension} 扩展对应 DuckDB {built_for}，"
            f"而已安装的 DuckDB 是 {duckdb_version}：请安装版本匹配的二者"
            "（pyproject.toml 中一同固定）",
        )
    wanted = f"{extension}.duckdb_extension"
    for file in dist.files or ():
        if file.name == wanted and file.parent.parent.name == f"v{duckdb_version}":
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    raise ExtensionError.in_both(
        f"{package} {dist.version} has no file {wanted} for DuckDB {duckdb_version} "
        "(a wheel for another platform?); reinstall it",
        f"{package} {dist.version} 中没有对应 DuckDB {duckdb_version} 的文件 {wanted}"
        "（其他平台的安装包？）；请重新安装",
    )


def load_extension(con: duckdb.DuckDBPyConnection, extension: str, package: str) -> Path:
    """Load ``extension`` into ``con`` from ``package``'s file; returns the file loaded."""
    import duckdb

    path = extension_file(package, extension, duckdb.__version__)
    try:
        con.execute(f"LOAD {_quote(str(path))}")
    except duckdb.Error as exc:
        raise ExtensionError.in_both(
            f"DuckDB {duckdb.__version__} could not load {path} ({package}): {exc}",
            f"DuckDB {duckdb.__version__} 无法加载 {path}（{package}）：{exc}",
        ) from exc
    return path


def libpq_conninfo(url: URL) -> str:
    """A libpq keyword/value connection string for a PostgreSQL SQLAlchemy URL.

    >>> print(libpq_conninfo(make_url("postgresql+psycopg://me:p'w@db:5433/led?sslmode=require")))
    host='db' port='5433' dbname='led' user='me' password='p\\'w' sslmode='require'
    """
    pairs: list[tuple[str, object]] = [
        ("host", url.host),
        ("port", url.port),
        ("dbname", url.database),
        ("user", url.username),
        ("password", url.password),
    ]
    pairs += sorted(url.query.items())
    parts = []
    for key, value in pairs:
        if value is None:
            continue
        if isinstance(value, tuple):
            value = ",".join(value)
        text = str(value)
        escaped = text.replace("\\", "\\\\").replace("'", "\\'")
        parts.append(f"{key}='{escaped}'")
    return " ".join(parts)


def connect(ledger_url: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the ledger at ``ledger_url`` attached read-only as ``ledger``.

    Raises :class:`ReconError` for a URL that is neither SQLite on a file nor PostgreSQL, and
    when DuckDB cannot attach it; :class:`ExtensionError` when the extension cannot be loaded.
    """
    import duckdb

    try:
        url = make_url(ledger_url)
    except ArgumentError as exc:
        raise ReconError.in_both(
            f"not a database URL: {ledger_url!r}", f"不是数据库 URL：{ledger_url!r}"
        ) from exc
    backend = url.get_backend_name()
    if backend not in EXTENSIONS:
        raise ReconError.in_both(
            f"reconciliation reads a SQLite or PostgreSQL ledger, not {backend}",
            f"对账只能读取 SQLite 或 PostgreSQL 账本，不支持 {backend}",
        )
    extension, package, kind = EXTENSIONS[backend]
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ReconError.in_both(
                "reconciliation needs a SQLite ledger on a file, not in memory",
                "对账需要文件中的 SQLite 账本，而非内存数据库",
            )
        target = url.database
        if not Path(target).is_file():
            raise ReconError.in_both(
                f"no SQLite ledger at {target}", f"{target} 处没有 SQLite 账本"
            )
    else:
        target = libpq_conninfo(url)
    con = duckdb.connect(":memory:", config=dict(OFFLINE_CONFIG))
    try:
        load_extension(con, extension, package)
        con.execute(f"ATTACH {_quote(target)} AS {CATALOG} (TYPE {kind}, READ_ONLY)")
        # ATTACH opens lazily: a file that is not a database, or a ledger never migrated,
        # shows here rather than at the caller's first query
        con.execute(f"SELECT * FROM {CATALOG}.ledger_entries LIMIT 0").fetchall()  # noqa: S608
    except duckdb.Error as exc:
        con.close()
        where = url.render_as_string(hide_password=True)
        raise ReconError.in_both(
            f"DuckDB could not attach the ledger {where}: {exc}",
            f"DuckDB 无法挂载账本 {where}：{exc}",
        ) from exc
    except BaseException:
        con.close()
        raise
    return con

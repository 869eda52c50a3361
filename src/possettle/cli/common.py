"""What every command group shares: the error boundary, output helpers and common options.

User errors end a command with what was wrong, in English and then in Chinese (two red lines,
``error:`` and ``错误：``), and exit status 1, never a traceback: :func:`user_errors` is the
boundary where :class:`PossettleError` (and SQLAlchemy's errors, translated by the ledger's one
translation point) become those lines, worded by :mod:`possettle.messages`.
Data goes to stdout — a Rich table for people, ``--json`` for programs; messages go to stderr.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from possettle.errors import ConfigError, PossettleError

DEFAULT_DB = "./possettle-host.db"

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="POSSETTLE_DB",
        help="The ledger: a SQLite file path, sqlite:///path or postgresql://user@host/db.",
        show_default=True,
    ),
]
KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help="The host's vault key file (default: <db file>.key beside a SQLite ledger, "
        "./possettle-host.key for PostgreSQL; $POSSETTLE_HOST_KEY wins over both).",
        dir_okay=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def out() -> Console:
    """A console on stdout (looked up at print time, so test runners can capture it)."""
    return Console(highlight=False)


def cells(*values: object) -> list[Text]:
    """Table cells shown literally: a merchant called "[bold]" is not Rich markup."""
    return [Text(str(v)) for v in values]


def err() -> Console:
    return Console(stderr=True, highlight=False)


def fail(problem: str | PossettleError, *, status: int = 1) -> NoReturn:
    """End the command with what was wrong on stderr, in English then Chinese, exit status 1
    (``status`` 2 for an option given a value it cannot take, as click's usage errors).

    An error is worded by :func:`possettle.explain.explain`; a plain string (English
    only) gets the general Chinese line: give an error raised with a catalog key instead.
    """
    from possettle.explain import by_class, explain

    if isinstance(problem, PossettleError):
        en, zh = (text := explain(problem)).en, text.zh
    else:
        en, zh = problem, by_class(PossettleError).zh
    err().print(f"[bold red]error:[/] {escape(en)}", soft_wrap=True)
    err().print(f"[bold red]错误：[/]{escape(zh)}", soft_wrap=True)
    raise typer.Exit(status)


@contextmanager
def user_errors() -> Iterator[None]:
    """The command boundary: possettle's own errors become one red line and exit 1."""
    try:
        yield
    except PossettleError as e:
        fail(e)
    except Exception as e:
        # Only a command that imported SQLAlchemy can raise its errors: the CLI does not
        # import it for the commands that need no ledger (possettle/cli/lazy.py).
        sa_exc = sys.modules.get("sqlalchemy.exc")
        if sa_exc is None or not isinstance(e, sa_exc.SQLAlchemyError):
            raise
        from possettle.ledger.engine import translate

        fail(translate(e, "ledger"))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (dataclasses and datetimes included)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_plain))


def _ledgers_beside(path: Path) -> list[Path]:
    """SQLite files in ``path``'s directory that hold a possettle ledger (``host init`` made
    them: they have its schema-revision table)."""
    found = []
    for candidate in sorted(path.parent.glob("*.db")):
        try:
            with closing(sqlite3.connect(f"{candidate.as_uri()}?mode=ro", uri=True)) as conn:
                row = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
                ).fetchone()
        except sqlite3.Error:
            continue
        if row:
            found.append(candidate)
    return found


def require_ledger(db: str) -> None:
    """Refuse to work on a ledger that was never created (instead of creating an empty one).

    A missing SQLite file is most often a ``--db`` left out or mistyped: the message names the
    ledgers that do exist beside it before it suggests ``host init`` on the very path given.
    """
    from possettle.ledger.engine import redacted, sqlite_path
    from possettle.ledger.migrate import current_revision, head_revision

    path = sqlite_path(db)
    given = "the default, --db not given" if db == DEFAULT_DB else "--db"
    if path is not None and not path.exists():
        others = _ledgers_beside(path)
        if others:
            names = ", ".join(str(p) for p in others)
            fail(
                ConfigError.in_both(
                    f"no ledger at {path} ({given}); the ledger(s) here: {names}: pass the one "
                    f"`possettle host init` made, e.g. --db {others[0]}",
                    f"{path} 处没有账本；此目录中的账本：{names}，请用 --db 指定 "
                    f"`possettle host init` 创建的那个，例如 --db {others[0]}",
                )
            )
        fail(
            ConfigError.in_both(
                f"no ledger at {path} ({given}): create it first with "
                f"`possettle host init --db {db}`, then pass the same --db to every host command",
                f"{path} 处没有账本：请先运行 `possettle host init --db {db}` 创建，"
                "之后每条 host 命令都使用同一个 --db",
            )
        )
    revision = current_revision(db)
    if revision is None:
        fail(ConfigError.said("ledger.not_initialised", ledger=redacted(db), db=db))
    if revision != head_revision():
        fail(
            ConfigError.said(
                "ledger.old_revision",
                ledger=redacted(db),
                revision=revision,
                head=head_revision(),
                db=db,
            )
        )

"""``possettle audit``: check the hash chain of the console's audit log, and read it.

``verify`` exits 1 when the chain is broken and names the first row that no longer fits, so
a cron job or a CI check can page on tampering.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from possettle.cli.alerts import ledger
from possettle.cli.common import (
    DEFAULT_DB,
    DbOption,
    JsonOption,
    cells,
    err,
    out,
    print_json,
    user_errors,
)
from possettle.ledger.engine import READ_ONLY
from possettle.monitor import audit

app = typer.Typer(
    help="The audit log of console actions: verify its chain, list it.", no_args_is_help=True
)


@app.command("verify")
def verify(db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """Check every row's hash and link; exit 1 naming the first bad row if tampered with."""
    with (
        ledger(db) as engine,
        user_errors(),
        engine.connect() as conn,
        conn.execution_options(**{READ_ONLY: True}).begin(),
    ):
        ok, bad = audit.verify(conn)
        rows = len(audit.entries(conn))
        head = audit.head(conn)
    if as_json:
        print_json({"ok": ok, "first_bad_id": bad, "rows": rows, "head": head})
    elif ok:
        typer.echo(f"audit log intact: {rows} rows, head {head}")
    else:
        err().print(
            f"[bold red]audit log tampered:[/] row {bad} does not match its hash or its "
            "predecessor (edited, deleted or inserted rows)"
        )
    if not ok:
        raise typer.Exit(1)


@app.command("list")
def list_command(
    db: DbOption = DEFAULT_DB,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show the newest N rows.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Show the newest audit entries, oldest first."""
    with ledger(db) as engine, user_errors(), engine.connect() as conn:
        rows = audit.entries(conn, limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "at", "actor", "action", "target", "detail")
    for e in rows:
        table.add_row(
            *cells(e.id, e.at.isoformat(timespec="seconds"), e.actor, e.action, e.target, e.detail)
        )
    out().print(table)

"""``possettle console``: serve the ops console, and manage its users.

``possettle console --db URL [--port 8080] [--host 127.0.0.1]`` serves the web console on an
existing ledger until Ctrl-C; ``possettle console user add`` creates a user with a role. The
console listens on localhost by default: it holds operational data, so exposing it is a
deliberate choice (``--host 0.0.0.0`` behind TLS, with ``--secure-cookies``).
"""

from __future__ import annotations

import getpass
import logging
from typing import Annotated

import typer

from possettle.cli.alerts import ledger
from possettle.cli.common import DEFAULT_DB, DbOption, JsonOption, fail, print_json
from possettle.clock import SystemClock
from possettle.ledger.kinds import ConsoleRole
from possettle.logs import configure_logging

app = typer.Typer(
    help="The web console: serve it (possettle console --db URL), manage its users.",
    invoke_without_command=True,
)
users = typer.Typer(help="Console users: viewer (read), operator (actions), admin (users).")
app.add_typer(users, name="user")


@app.callback()
def serve(
    ctx: typer.Context,
    db: DbOption = DEFAULT_DB,
    port: Annotated[int, typer.Option("--port", help="HTTP port to listen on.")] = 8080,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (localhost by default).")
    ] = "127.0.0.1",
    secure_cookies: Annotated[
        bool,
        typer.Option("--secure-cookies", help="Mark cookies Secure (serve behind HTTPS)."),
    ] = False,
    timezone: Annotated[
        str,
        typer.Option(
            "--timezone",
            help="The shop's time zone every time is shown in: an IANA name, UTC or +08:00.",
        ),
    ] = "Asia/Shanghai",
) -> None:
    """Serve the ops console on the ledger until Ctrl-C (subcommands manage users)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn  # only the server needs it; `user add` starts faster without

    from possettle.console.app import create_app

    configure_logging(level=logging.WARNING)
    from possettle.console.display import Zone, ZoneRejected

    try:
        zone = Zone.named(timezone)
    except ZoneRejected as e:
        fail(f"--timezone: {e}")
    with ledger(db) as engine:
        console = create_app(engine, clock=SystemClock(), secure_cookies=secure_cookies, zone=zone)
        typer.echo(f"possettle console on http://{host}:{port}/ (Ctrl-C stops)", err=True)
        # log_config=None: uvicorn's loggers propagate to ours (masked, escaped) instead of
        # getting handlers of their own
        uvicorn.run(console, host=host, port=port, log_level="warning", log_config=None)


@users.command("add")
def user_add(
    username: Annotated[str, typer.Option("--username", help="Login name (1-40 characters).")],
    role: Annotated[ConsoleRole, typer.Option("--role", help="viewer, operator or admin.")],
    db: DbOption = DEFAULT_DB,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="The password (at least 8 characters); prompted for, unechoed, if absent.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a console user with a role; the password is stored as a scrypt hash."""
    from possettle.console.auth import add_user
    from possettle.console.errors import UserRejected
    from possettle.errors import ConfigError

    if password is None:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            fail(ConfigError.said("console.passwords_differ"))
    with ledger(db) as engine:
        try:
            add_user(engine, username, password, role, SystemClock().now())
        except UserRejected as e:
            fail(e)
    if as_json:
        print_json({"username": username, "role": role.value})
        return
    typer.echo(f"console user {username} added ({role.value})")

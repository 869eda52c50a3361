"""The ``possettle`` command: the app every command group hangs from.

``pyproject.toml`` points the console script at :data:`app`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from possettle import __version__
from possettle.cli import alerts, audit, codec, console, fault, host, terminal
from possettle.cli.demo import demo_command
from possettle.cli.doctor import doctor_command

app = typer.Typer(
    help="possettle: a POS settlement stack — PS-CUP/1 codec, acquirer host, issuer simulator.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("demo")(demo_command)
app.command("doctor")(doctor_command)
app.add_typer(host.app, name="host")
app.add_typer(codec.app, name="codec")
app.add_typer(terminal.app, name="terminal")
app.add_typer(fault.app, name="fault")
app.add_typer(alerts.app, name="alerts")
app.add_typer(audit.app, name="audit")
app.add_typer(console.app, name="console")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"possettle {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """possettle: a POS settlement stack — PS-CUP/1 codec, acquirer host, issuer simulator."""


if __name__ == "__main__":  # `python -m possettle.cli.main` (tests run the CLI this way)
    app()

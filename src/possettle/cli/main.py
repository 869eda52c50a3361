"""The ``possettle`` command: the app every command group hangs from.

``pyproject.toml`` points the console script at :data:`app`. The command groups are imported
lazily (:mod:`possettle.cli.lazy`): ``possettle terminal status`` imports the terminal's
modules and not the host's, the console's or the doctor's, and ``possettle --help`` none.
"""

from __future__ import annotations

from typing import Annotated

import typer

from possettle import __version__
from possettle.cli.lazy import Lazy, LazyGroup

# name -> where it lives and the line `possettle --help` shows (the same as the command's own
# first help line: tests/cli/test_lazy.py compares them). In the order help lists them.
LazyGroup.lazy = {
    "demo": Lazy(
        "possettle.cli.demo:demo_command",
        "Run a business day: an acquirer host, a fleet of terminals, injected faults, then every "
        "journal checked against the ledger.",
    ),
    "doctor": Lazy(
        "possettle.cli.doctor:doctor_command",
        "Name the cause of a failed settlement with its evidence, in Chinese and English, and "
        "(with --fix) run the safe recovery.",
    ),
    "support": Lazy(
        "possettle.cli.support:app",
        "The support desk: guided troubleshooting for any POS terminal that shows 结算失败 "
        "(settlement failed), in Chinese and English.",
    ),
    "host": Lazy(
        "possettle.cli.host:app", "The acquirer host: ledger, merchants, terminals, policy, server."
    ),
    "codec": Lazy("possettle.cli.codec:app", "PS-CUP/1 codec tools (masked: no clear card data)."),
    "terminal": Lazy(
        "possettle.cli.terminal:app", "A POS terminal: sign-on, sales, settlement, receipts."
    ),
    "fault": Lazy(
        "possettle.cli.fault:app",
        "Fault injection: an adversity proxy between terminals and the host.",
    ),
    "alerts": Lazy(
        "possettle.cli.alerts:app",
        "The built-in alert engine: evaluate the rules, list, acknowledge, resolve.",
    ),
    "audit": Lazy(
        "possettle.cli.audit:app", "The audit log of console actions: verify its chain, list it."
    ),
    "console": Lazy(
        "possettle.cli.console:app",
        "The web console: serve it (possettle console --db URL), manage its users.",
    ),
}

app = typer.Typer(
    cls=LazyGroup,
    help="possettle: a POS settlement stack — PS-CUP/1 codec, acquirer host, issuer simulator.",
    no_args_is_help=True,
    add_completion=False,
)


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

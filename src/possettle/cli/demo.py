"""Placeholder for ``possettle demo`` (the real command is being written)."""

from __future__ import annotations

import typer


def demo_command() -> None:
    """Run the demo: an embedded host, simulated issuer and terminals (not yet available)."""
    typer.echo("possettle demo: not yet available", err=True)
    raise typer.Exit(2)

"""Placeholder for ``possettle host serve`` (the real command is being written)."""

from __future__ import annotations

import typer


def serve_command() -> None:
    """Serve PS-CUP/1 terminals from the ledger (not yet available)."""
    typer.echo("possettle host serve: not yet available", err=True)
    raise typer.Exit(2)

"""``possettle demo``: a business day of a terminal fleet against an embedded host."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from possettle.cli.common import JsonOption, cells, out, print_json, user_errors
from possettle.logs import configure_logging
from possettle.sim.hostday import DayResult, run_day


def demo_command(
    terminals: Annotated[int, typer.Option("--terminals", min=1, max=500, help="Fleet size.")] = 8,
    transactions: Annotated[
        int, typer.Option("--transactions", min=1, max=5000, help="Transactions per terminal.")
    ] = 25,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; the same seed, the same day.")
    ] = 7,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Keep the ledger here (default: a temp dir).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a business day: an embedded acquirer host (SQLite, issuer simulator) on a free port,
    a merchant and a fleet of terminals doing sales, voids, refunds and offline sales over
    real sockets, a dropped connection mid-sale (reversed), one batch the host sees differently
    (settled after a batch upload), then settlement of every terminal and a check of every
    terminal's record against the host ledger (lost / duplicated)."""
    import logging

    configure_logging(level=logging.WARNING)
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    with user_errors():
        if as_json:
            result = asyncio.run(run_day(terminals, transactions, seed, workdir))
            print_json(result.as_dict())
            return
        with Progress(
            TextColumn("[bold]business day"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out(),
            transient=True,
        ) as progress:
            task = progress.add_task("day", total=terminals * transactions)
            result = asyncio.run(
                run_day(
                    terminals,
                    transactions,
                    seed,
                    workdir,
                    tick=lambda _tid, n: progress.advance(task, n),
                )
            )
        _summary(result)
    if result.lost or result.duplicated:
        raise typer.Exit(1)


def _summary(result: DayResult) -> None:
    table = Table(title="Settlement / 结算")
    for col in ("TID", "batch", "txns", "debit", "credit", "result / 结果", "what happened"):
        table.add_column(col)
    for t in result.terminals:
        tot = t.totals()
        debit = tot.domestic.debit_amount + tot.foreign.debit_amount
        credit = tot.domestic.credit_amount + tot.foreign.credit_amount
        table.add_row(
            *cells(
                t.tid,
                t.batch,
                len(t.journal),
                f"{debit / 100:.2f}",
                f"{credit / 100:.2f}",
                t.result,
                "; ".join(t.events) or "-",
            )
        )
    console = out()
    console.print(table)
    console.print(
        f"transactions {result.transactions} · lost {result.lost} · duplicated "
        f"{result.duplicated} · reconciliation exceptions {result.exceptions} · ledger "
        f"{result.workdir}"
    )

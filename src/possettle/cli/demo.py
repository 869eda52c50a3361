"""``possettle demo``: a business day of a terminal fleet against the host, with faults."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from possettle.cli.common import JsonOption, cells, out, print_json, user_errors

if TYPE_CHECKING:
    from possettle.sim.day import DayResult


def demo_command(
    terminals: Annotated[int, typer.Option("--terminals", min=1, max=500, help="Fleet size.")] = 8,
    transactions: Annotated[
        int, typer.Option("--transactions", min=4, max=5000, help="Transactions per terminal.")
    ] = 25,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; the same seed, the same day.")
    ] = 7,
    workdir: Annotated[
        Path | None,
        typer.Option("--workdir", help="Keep the host ledger and terminals here (default: temp)."),
    ] = None,
    as_json: JsonOption = False,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Afterwards, serve the ops console on the day's ledger."),
    ] = False,
    port: Annotated[int, typer.Option("--port", help="The console's port with --serve.")] = 8080,
) -> None:
    """Run a business day: an acquirer host, a fleet of terminals, injected faults, then every
    journal checked against the ledger.

    The host runs in its own process (SQLite, issuer simulator) on a free port; a merchant and
    a fleet of terminals (journals, receipts, real sockets) do sales, voids, refunds and
    offline sales, with faults — a connection dropped mid-sale, the host killed and restarted,
    a terminal losing power mid-settlement, a printer out of paper, a batch the host sees
    differently (settled after a batch upload) — then every terminal is settled and every
    journal checked against the host ledger (lost / duplicated)."""
    from possettle.logs import configure_logging
    from possettle.sim.day import run_day

    configure_logging(level=logging.WARNING)
    with user_errors():
        if as_json:
            result = asyncio.run(run_day(terminals, transactions, seed, workdir))
            print_json(result.as_dict())
        else:
            console = out()
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("business day 营业日", total=terminals * transactions)

                def phase(message: str) -> None:
                    progress.update(task, description=message)
                    console.log(message)

                result = asyncio.run(
                    run_day(
                        terminals,
                        transactions,
                        seed,
                        workdir,
                        tick=lambda _tid, n: progress.advance(task, n),
                        phase=phase,
                    )
                )
            _summary(result)
    if serve:
        _serve_console(Path(result.workdir), port)
    if result.lost or result.duplicated:
        raise typer.Exit(1)


def _serve_console(work: Path, port: int) -> None:
    """The console on the day's ledger, with a one-time admin password, until Ctrl-C."""
    import secrets
    from datetime import UTC, datetime

    import uvicorn

    from possettle.clock import SystemClock
    from possettle.console.app import create_app
    from possettle.console.auth import add_user
    from possettle.ledger.engine import create_engine_for
    from possettle.ledger.kinds import ConsoleRole

    engine = create_engine_for(f"sqlite:///{work / 'host.db'}")
    password = secrets.token_urlsafe(12)
    user = f"admin-{secrets.token_hex(2)}"
    add_user(engine, user, password, ConsoleRole.ADMIN, datetime.now(UTC))
    show_login(out(), f"http://127.0.0.1:{port}/", user, password)
    try:
        # log_config=None: uvicorn's loggers propagate to our pipeline (masked, escaped)
        uvicorn.run(create_app(engine, clock=SystemClock()), host="127.0.0.1", port=port,
                    log_level="warning", log_config=None)  # fmt: skip
    finally:
        engine.dispose()


def show_login(console: Console, url: str, user: str, password: str) -> None:
    """The console's address and its one-time login, a line each, so that on a narrow
    terminal the password never wraps across two lines (it is copied from here)."""
    console.print(f"console 运维控制台: {url}  (Ctrl-C stops / 按 Ctrl-C 停止)", soft_wrap=True)
    console.print(f"  user 用户名  {user}", soft_wrap=True, markup=False)
    console.print(f"  password 密码  {password}", soft_wrap=True, markup=False)
    console.print("  (the password is shown once / 密码只显示这一次)")


def _short(events: list[str]) -> str:
    """The day of one terminal in a few words (offline sales counted, refusals left out)."""
    offline = sum(1 for e in events if "approved offline" in e)
    lines = [e for e in events if "approved offline" not in e and not e.startswith("Refused")]
    if offline:
        lines.insert(0, f"{offline} offline while host down")
    return "; ".join(line.replace(" -> ", " → ") for line in lines) or "-"


FIGURES = ("sales", "voids", "refunds", "offline")


def summary_table(result: DayResult) -> Table:
    """One row per terminal, narrow enough for an 80-column terminal: ids and figures never
    wrap, the result gives way; what happened to each terminal is listed below the table."""
    table = Table(
        title="Settlement / 结算", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    table.add_column("TID", no_wrap=True)
    table.add_column("batch", no_wrap=True)
    for name in FIGURES:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("net", justify="right", no_wrap=True)
    table.add_column("result / 结果", overflow="fold", min_width=12)
    for t in result.terminals:
        f = t.figures
        net = (f.get("debit_amount", 0) - f.get("credit_amount", 0)) / 100
        counts = (f.get(name, 0) for name in FIGURES)
        table.add_row(*cells(t.tid, f"{t.batch:06d}", *counts, f"{net:,.2f}", t.result))
    return table


def _summary(result: DayResult) -> None:
    console = out()
    console.print(summary_table(result))
    console.print("[bold]what happened / 经过[/]")
    happened = Table.grid(padding=(0, 2), pad_edge=True)
    happened.add_column(no_wrap=True)
    happened.add_column(overflow="fold")
    for t in result.terminals:
        happened.add_row(*cells(t.tid, _short(t.events)))
    console.print(happened)
    verdict = "[bold green]✓" if not (result.lost or result.duplicated) else "[bold red]✗"
    console.print(
        f"{verdict}[/] {result.transactions} transactions · lost {result.lost} · duplicated "
        f"{result.duplicated}\n  (every journal checked against the host ledger)\n"
        f"  reconciliation exceptions {result.recon_exceptions} · host restarts "
        f"{result.host_restarts} · {result.seconds:.1f}s\n  files: {result.workdir}"
    )

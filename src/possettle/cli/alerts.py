"""``possettle alerts``: run the built-in alert engine, list incidents, acknowledge them.

A single-machine install runs ``possettle alerts evaluate`` from cron (or a loop) instead of
a Prometheus server; it evaluates the same rules as ``monitor/rules/possettle.rules.yml``.
Acknowledging and resolving are operator actions, so each is written to the audit log in
the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.engine import Engine

from possettle.cli.common import (
    DEFAULT_DB,
    DbOption,
    JsonOption,
    cells,
    out,
    print_json,
    require_ledger,
    user_errors,
)
from possettle.clock import SystemClock
from possettle.ledger.engine import create_engine_for
from possettle.ledger.kinds import AlertStatus
from possettle.monitor import alerts as engine_mod
from possettle.monitor import audit
from possettle.monitor.readings import Thresholds
from possettle.monitor.store import Alert
from possettle.monitor.webhook import check_url

app = typer.Typer(
    help="The built-in alert engine: evaluate the rules, list, acknowledge, resolve.",
    no_args_is_help=True,
)

IdOption = Annotated[int, typer.Option("--id", help="The alert's id (see `alerts list`).")]
ByOption = Annotated[str, typer.Option("--by", help="Who is acting (recorded in the audit log).")]


@contextmanager
def ledger(db: str) -> Iterator[Engine]:
    """An engine on an existing, up-to-date ledger (never creates one by accident)."""
    with user_errors():
        require_ledger(db)
    engine = create_engine_for(db)
    try:
        yield engine
    finally:
        engine.dispose()


def _table(rows: list[Alert]) -> Table:
    # the rule names share a prefix; the full records are in --json
    table = Table("id", "status", "severity", "rule", "incident", "terminals", "last", "ack by")
    for a in rows:
        table.add_row(
            *cells(a.id, a.status.value, a.severity, a.rule.removeprefix("Possettle"),
                   a.incident_key, len(a.terminals), a.last_at.strftime("%m-%d %H:%M"),
                   a.ack_by or "")
        )  # fmt: skip
    return table


@app.command("evaluate")
def evaluate(
    db: DbOption = DEFAULT_DB,
    webhook: Annotated[
        list[str] | None,
        typer.Option("--webhook", help="POST alerts as JSON to this URL (repeatable)."),
    ] = None,
    repeat_minutes: Annotated[
        int, typer.Option("--repeat-minutes", min=1, help="Re-send an open alert this often.")
    ] = 240,
    stale_minutes: Annotated[
        int,
        typer.Option(
            "--stale-minutes", min=1, help="A terminal silent this long is not reporting."
        ),
    ] = 30,
    as_json: JsonOption = False,
) -> None:
    """Evaluate every rule once: open, update or resolve incidents and notify webhooks."""
    with user_errors():
        hooks = tuple(check_url(u) for u in webhook or [])
    config = engine_mod.EngineConfig(
        webhooks=hooks,
        repeat=timedelta(minutes=repeat_minutes),
        thresholds=Thresholds(stale_after=timedelta(minutes=stale_minutes)),
    )
    with ledger(db) as engine, user_errors():
        result = engine_mod.evaluate_alerts(engine, SystemClock(), config)
    if as_json:
        print_json({
            "opened": [a.as_dict() for a in result.opened],
            "updated": [a.as_dict() for a in result.updated],
            "resolved": [a.as_dict() for a in result.resolved],
            "notified": list(result.notified),
        })  # fmt: skip
        return
    typer.echo(
        f"{len(result.opened)} opened, {len(result.updated)} still firing, "
        f"{len(result.resolved)} resolved, {len(result.notified)} sent to webhooks"
    )
    for a in (*result.opened, *result.updated):
        typer.echo(f"  #{a.id} [{a.severity}] {a.rule}: {a.summary_en}")


@app.command("list")
def list_command(
    db: DbOption = DEFAULT_DB,
    active: Annotated[
        bool, typer.Option("--active", help="Only open and acknowledged alerts.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List alerts, newest first."""
    statuses = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED) if active else None
    with ledger(db) as engine, user_errors(), engine.connect() as conn:
        rows = engine_mod.list_alerts(conn, statuses=statuses)
    if as_json:
        print_json([a.as_dict() for a in rows])
        return
    if not rows:
        typer.echo("no alerts")
        return
    out().print(_table(rows))


@app.command("ack")
def ack(
    alert_id: IdOption,
    by: ByOption,
    note: Annotated[str, typer.Option("--note", help="Why, or what is being done.")],
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """Acknowledge an alert with a note; it stops repeating to webhooks."""
    now = SystemClock().now()
    with ledger(db) as engine, user_errors(), engine.begin() as conn:
        a = engine_mod.acknowledge(conn, alert_id, by=by, note=note, at=now)
        audit.record(conn, by, "alert.ack", f"alert:{alert_id}", {"note": note}, now)
    if as_json:
        print_json(a.as_dict())
        return
    typer.echo(f"alert {a.id} ({a.rule}) acknowledged by {a.ack_by}")


@app.command("resolve")
def resolve(
    alert_id: IdOption, by: ByOption, db: DbOption = DEFAULT_DB, as_json: JsonOption = False
) -> None:
    """Resolve an alert by hand (it reopens as a new incident if the condition persists)."""
    now = SystemClock().now()
    with ledger(db) as engine, user_errors(), engine.begin() as conn:
        a = engine_mod.resolve(conn, alert_id, at=now)
        audit.record(conn, by, "alert.resolve", f"alert:{alert_id}", {}, now)
    if as_json:
        print_json(a.as_dict())
        return
    typer.echo(f"alert {a.id} ({a.rule}) resolved")

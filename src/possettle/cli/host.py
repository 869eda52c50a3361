"""``possettle host``: create the ledger, register merchants and terminals, set policy, serve.

Every registry command runs in one ledger transaction (``engine.begin()``), so a failed
command leaves nothing half-written. A terminal's TMK is shown once, by ``terminal add``;
no other command ever prints key material.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.table import Table
from sqlalchemy.engine import Connection, Engine

from possettle.cli.common import (
    DEFAULT_DB,
    DbOption,
    JsonOption,
    KeyFileOption,
    cells,
    fail,
    out,
    print_json,
    require_ledger,
    user_errors,
)
from possettle.cli.serve import serve_command
from possettle.crypto.keys import Key
from possettle.crypto.vault import ENV_VAR as VAULT_KEY_ENV
from possettle.crypto.vault import Vault
from possettle.errors import ConfigError
from possettle.host import registry
from possettle.host.policy import DEFAULT_SETTLEMENT_MAC, SETTLEMENT_MAC, SettlementMac
from possettle.iso8583.framing import version_digits
from possettle.ledger import queries
from possettle.ledger.engine import create_engine_for, key_file_for, redacted
from possettle.ledger.kinds import TerminalStatus
from possettle.ledger.migrate import init_db
from possettle.ledger.schema import merchants, terminals

MIN_VERSION = "min_version"
NO_MIN_VERSION = "000000"

app = typer.Typer(
    help="The acquirer host: ledger, merchants, terminals, policy, server.", no_args_is_help=True
)
merchant_app = typer.Typer(help="Register and list merchants.", no_args_is_help=True)
terminal_app = typer.Typer(
    help="Register, list, enable and disable terminals.", no_args_is_help=True
)
app.add_typer(merchant_app, name="merchant")
app.add_typer(terminal_app, name="terminal")

TidOption = Annotated[str, typer.Option("--tid", help="Terminal id (field 41): 8 characters.")]
MidOption = Annotated[str, typer.Option("--mid", help="Merchant id (field 42): 15 characters.")]


# ----------------------------------------------------------------------------- helpers


def _require_ledger(db: str) -> None:
    """Refuse to work on a ledger that was never created (instead of creating an empty one)."""
    require_ledger(db)


@contextmanager
def _ledger(db: str) -> Iterator[Engine]:
    _require_ledger(db)
    engine = create_engine_for(db)
    try:
        yield engine
    finally:
        engine.dispose()


def _key_path(db: str, key_file: Path | None) -> Path:
    return key_file if key_file is not None else key_file_for(db)


def _existing_vault(db: str, key_file: Path | None) -> Vault:
    """The vault the ledger's sealed keys were written with; never a silently fresh one."""
    path = _key_path(db, key_file)
    if not os.environ.get(VAULT_KEY_ENV) and not path.exists():
        fail(
            f"vault key file {path} not found; it is created by `possettle host init` "
            f"(pass --key-file or set ${VAULT_KEY_ENV} if it lives elsewhere)"
        )
    return Vault.from_env_or_file(path)


def _version_text(digits: str) -> str:
    return ".".join(str(int(digits[i : i + 2])) for i in (0, 2, 4))


# ----------------------------------------------------------------------------- init


@app.command("init")
def init(
    db: DbOption = DEFAULT_DB, key_file: KeyFileOption = None, as_json: JsonOption = False
) -> None:
    """Create the ledger (or upgrade it to the newest schema) and the vault key.

    Safe to run again: an up-to-date ledger and an existing key are left as they are.
    Keep the key file safe — the terminals' keys in the ledger are sealed with it.
    """
    with user_errors():
        revision = init_db(db)
        key_path = _key_path(db, key_file)
        from_env = bool(os.environ.get(VAULT_KEY_ENV))
        vault = Vault.from_env_or_file(key_path)
    key_source = f"${VAULT_KEY_ENV}" if from_env else str(key_path)
    if as_json:
        print_json(
            {
                "ledger": redacted(db),
                "revision": revision,
                "vault_key": key_source,
                "vault_key_id": vault.key_id,
            }
        )
        return
    typer.echo(f"ledger ready: {redacted(db)} (schema revision {revision})")
    typer.echo(f"vault key: {key_source} (key id {vault.key_id})")


# ----------------------------------------------------------------------------- merchants


@merchant_app.command("add")
def merchant_add(
    mid: MidOption,
    name: Annotated[str, typer.Option("--name", help="The merchant's name (at most 100).")],
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """Register a merchant."""
    with user_errors(), _ledger(db) as engine, engine.begin() as conn:
        registry.add_merchant(conn, mid, name)
    if as_json:
        print_json({"mid": mid, "name": name})
        return
    typer.echo(f"merchant {mid} ({name}) registered")


def _merchant_rows(conn: Connection) -> list[dict[str, Any]]:
    count = sa.func.count(terminals.c.tid).label("terminals")
    query = (
        sa.select(merchants.c.mid, merchants.c.name, merchants.c.status, count)
        .select_from(merchants.outerjoin(terminals, terminals.c.mid == merchants.c.mid))
        .group_by(merchants.c.mid, merchants.c.name, merchants.c.status)
        .order_by(merchants.c.mid)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


@merchant_app.command("list")
def merchant_list(db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """List merchants with their number of terminals."""
    with user_errors(), _ledger(db) as engine, engine.connect() as conn:
        rows = _merchant_rows(conn)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} merchant(s)")
    table.add_column("MID", no_wrap=True, min_width=15)
    for name in ("name", "status", "terminals"):
        table.add_column(name)
    for r in rows:
        table.add_row(*cells(r["mid"], r["name"], r["status"], r["terminals"]))
    out().print(table)


# ----------------------------------------------------------------------------- terminals


@terminal_app.command("add")
def terminal_add(
    tid: TidOption,
    mid: MidOption,
    tmk: Annotated[
        str | None,
        typer.Option(
            "--tmk",
            help="A double-length TMK as 32 hex digits; by default a fresh random one.",
        ),
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region, for fleet views.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Terminal model.")] = None,
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a terminal and print its TMK once, with the TMK's check value.

    Load the TMK into the terminal out of band; the host keeps it only sealed and never
    shows it again.
    """
    with user_errors():
        given = Key.from_hex(tmk) if tmk is not None else None
        with _ledger(db) as engine:
            vault = _existing_vault(db, key_file)
            with engine.begin() as conn:
                key, kcv = registry.add_terminal(
                    conn, vault, tid, mid, given, region=region, model=model
                )
    # Showing the TMK here is the one deliberate opt-in (Key.hex): it must reach the terminal.
    kcv_hex = kcv[:3].hex().upper()
    if as_json:
        print_json({"tid": tid, "mid": mid, "tmk": key.hex(), "tmk_kcv": kcv_hex})
        return
    typer.echo(f"terminal {tid} registered to merchant {mid}")
    typer.echo(f"TMK {key.hex()}  check value {kcv_hex}")
    typer.echo("store it now, it is not shown again")


@terminal_app.command("list")
def terminal_list(
    mid: Annotated[
        str | None, typer.Option("--mid", help="Only the terminals of this merchant.")
    ] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """List terminals: status, key state, batch and software version (never key material)."""
    with user_errors(), _ledger(db) as engine, engine.connect() as conn:
        rows = registry.list_terminals(conn, mid)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} terminal(s)")
    # Ids are never wrapped or cut short; free text columns give way on a narrow terminal.
    table.add_column("TID", no_wrap=True, min_width=8)
    table.add_column("MID", no_wrap=True, min_width=15)
    for name in ("status", "batch", "version"):
        table.add_column(name, no_wrap=True)
    for name in ("keys", "region", "model"):
        table.add_column(name, overflow="fold")
    for r in rows:
        keys = "signed on" if r.signed_on else ("issued" if r.has_working_keys else "none")
        if r.needs_signon:
            keys += ", must sign on"
        version = _version_text(r.software_version) if r.software_version else "-"
        batch = f"{r.current_batch:06d}"
        region, model = r.region or "-", r.model or "-"
        table.add_row(*cells(r.tid, r.mid, r.status.value, batch, version, keys, region, model))
    out().print(table)


def _set_status(tid: str, status: TerminalStatus, db: str, as_json: bool) -> None:
    with user_errors(), _ledger(db) as engine, engine.begin() as conn:
        registry.set_terminal_status(conn, tid, status)
    if as_json:
        print_json({"tid": tid, "status": status.value})
        return
    typer.echo(f"terminal {tid} {'enabled' if status is TerminalStatus.ACTIVE else 'disabled'}")


@terminal_app.command("disable")
def terminal_disable(
    tid: TidOption, db: DbOption = DEFAULT_DB, as_json: JsonOption = False
) -> None:
    """Disable a terminal: the host refuses its transactions until it is enabled again."""
    _set_status(tid, TerminalStatus.DISABLED, db, as_json)


@terminal_app.command("enable")
def terminal_enable(tid: TidOption, db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """Enable a disabled terminal."""
    _set_status(tid, TerminalStatus.ACTIVE, db, as_json)


# ----------------------------------------------------------------------------- policy


@app.command("policy")
def policy(
    min_version: Annotated[
        str | None,
        typer.Option(
            "--min-version",
            metavar="MAJOR.MINOR.PATCH",
            help="Refuse sign-on (39=58) to terminal software older than this; 0.0.0 clears it.",
        ),
    ] = None,
    settlement_mac: Annotated[
        SettlementMac | None,
        typer.Option(
            "--settlement-mac",
            case_sensitive=False,
            help="Whether a settlement (0500) or batch upload (0320) must carry a MAC: "
            "'required' (the default) refuses one without with A0; 'optional' is LESS SAFE "
            "(anyone who knows a TID and MID from a receipt can close that terminal's batch), "
            "for fleets that cannot MAC them. A MAC that is present must verify either way.",
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """Show the host's policy, or change it with the options given.

    A running host sees a change within its policy cache time (5 seconds by default).
    """
    with user_errors():
        digits = None
        if min_version is not None:
            try:
                digits = version_digits(min_version)
            except ValueError as e:
                raise ConfigError(f"--min-version: {e}") from e
        with _ledger(db) as engine, engine.begin() as conn:
            if digits is not None:
                queries.set_policy(conn, MIN_VERSION, digits)
            if settlement_mac is not None:
                queries.set_policy(conn, SETTLEMENT_MAC, settlement_mac.value)
            current = queries.get_policy(conn, MIN_VERSION, NO_MIN_VERSION)
            mac = SettlementMac.parse(
                queries.get_policy(conn, SETTLEMENT_MAC, DEFAULT_SETTLEMENT_MAC.value)
            )
    shown = None if current == NO_MIN_VERSION else _version_text(current)
    if as_json:
        print_json(
            {"min_version": shown, "min_version_digits": current, "settlement_mac": mac.value}
        )
        return
    typer.echo(f"minimum terminal software version: {shown or 'none (any version signs on)'}")
    typer.echo(f"settlement MAC: {_SETTLEMENT_MAC_TEXT[mac]}")


_SETTLEMENT_MAC_TEXT = {
    SettlementMac.REQUIRED: "required (0500 and 0320 without a valid MAC are refused with A0)",
    SettlementMac.OPTIONAL: "optional (LESS SAFE: 0500 and 0320 without a MAC are accepted; "
    "anyone who knows a TID and MID can close that terminal's batch)",
}


# `host serve` lives in its own module (the server's options are many); listed last in help.
app.command("serve")(serve_command)

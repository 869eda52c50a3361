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
from possettle.crypto.keys import Key, check_value_text
from possettle.crypto.vault import ENV_VAR as VAULT_KEY_ENV
from possettle.crypto.vault import Vault
from possettle.errors import ConfigError
from possettle.host import registry
from possettle.host.policy import DEFAULT_SETTLEMENT_MAC, SETTLEMENT_MAC, SettlementMac
from possettle.iso8583.framing import version_digits, version_text
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
report_app = typer.Typer(
    help="Reports from the ledger: the end-of-day report.", no_args_is_help=True
)
app.add_typer(merchant_app, name="merchant")
app.add_typer(terminal_app, name="terminal")
app.add_typer(report_app, name="report")

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
        fail(ConfigError.said("ledger.no_vault_key", path=path, env=VAULT_KEY_ENV))
    return Vault.from_env_or_file(path)


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
    address: Annotated[
        str | None,
        typer.Option("--address", help="The address printed on receipts (at most 80)."),
    ] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """Register a merchant; its name and address reach its terminals at sign-on."""
    with user_errors(), _ledger(db) as engine, engine.begin() as conn:
        registry.add_merchant(conn, mid, name, address=address)
    if as_json:
        print_json({"mid": mid, "name": name, "address": address or None})
        return
    typer.echo(f"merchant {mid} ({name}) registered")


def _merchant_rows(conn: Connection) -> list[dict[str, Any]]:
    count = sa.func.count(terminals.c.tid).label("terminals")
    query = (
        sa.select(merchants.c.mid, merchants.c.name, merchants.c.address, merchants.c.status, count)
        .select_from(merchants.outerjoin(terminals, terminals.c.mid == merchants.c.mid))
        .group_by(merchants.c.mid, merchants.c.name, merchants.c.address, merchants.c.status)
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
    for name in ("name", "address", "status", "terminals"):
        table.add_column(name)
    for r in rows:
        table.add_row(*cells(r["mid"], r["name"], r["address"] or "-", r["status"], r["terminals"]))
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
            help="A double-length TMK as 32 hex digits ('-' reads it from standard input or a "
            "hidden prompt, out of shell history and ps); by default a fresh random one.",
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
    from possettle.cli.secrets import read_secret

    with user_errors():
        tmk = read_secret("--tmk", tmk)
        given = Key.from_hex(tmk) if tmk is not None else None
        with _ledger(db) as engine:
            vault = _existing_vault(db, key_file)
            with engine.begin() as conn:
                key, _ = registry.add_terminal(
                    conn, vault, tid, mid, given, region=region, model=model
                )
    # Showing the TMK here is the one deliberate opt-in (Key.hex): it must reach the terminal.
    kcv_hex = check_value_text(key)
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
        version = version_text(r.software_version) if r.software_version else "-"
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


# ----------------------------------------------------------------------------- edits

ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        envvar="USER",
        help="Who makes the change, for the audit log (default: $USER).",
        show_default=False,
    ),
]


def _audit(conn: Connection, by: str | None, action: str, target: str, detail: Any) -> None:
    """Registry changes are written to the audit log in the change's own transaction."""
    from possettle.clock import SystemClock
    from possettle.monitor import audit

    audit.record(conn, (by or "cli").strip() or "cli", action, target, detail, SystemClock().now())


@merchant_app.command("edit")
def merchant_edit(
    mid: MidOption,
    name: Annotated[str | None, typer.Option("--name", help="The new name (at most 100).")] = None,
    address: Annotated[
        str | None,
        typer.Option("--address", help='The new address (at most 80; "" clears it).'),
    ] = None,
    db: DbOption = DEFAULT_DB,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a merchant's name or address; its terminals print them after their next sign-on."""
    from possettle.host import edits

    with user_errors(), _ledger(db) as engine, engine.begin() as conn:
        after = edits.edit_merchant(conn, mid, name=name, address=address)
        asked = {"name": name, "address": address}
        changed = {k: getattr(after, k) for k, v in asked.items() if v is not None}
        _audit(conn, by, "merchant.edit", f"merchant:{mid}", changed)
    if as_json:
        print_json({"mid": after.mid, "name": after.name, "address": after.address})
        return
    typer.echo(f"merchant {mid}: {after.name}, address {after.address or '-'}")


@terminal_app.command("edit")
def terminal_edit(
    tid: TidOption,
    region: Annotated[
        str | None, typer.Option("--region", help='The new region ("" clears it).')
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help='The new model ("" clears it).')
    ] = None,
    mid: Annotated[
        str | None,
        typer.Option(
            "--mid", help="Move it to this merchant (only when its batch is empty or settled)."
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a terminal's region or model, or move it to another merchant."""
    from possettle.host import edits

    with user_errors(), _ledger(db) as engine, engine.begin() as conn:
        done = edits.edit_terminal(conn, tid, region=region, model=model, mid=mid)
        detail = {"region": done.region, "model": done.model, "mid": done.mid}
        if done.moved_from is not None:
            detail["moved_from"] = done.moved_from
        _audit(conn, by, "terminal.edit", f"terminal:{tid}", detail)
    if as_json:
        print_json(
            {
                "tid": done.tid,
                "mid": done.mid,
                "region": done.region,
                "model": done.model,
                "moved_from": done.moved_from,
            }
        )
        return
    typer.echo(
        f"terminal {tid}: merchant {done.mid}, region {done.region or '-'}, "
        f"model {done.model or '-'}"
    )
    if done.moved_from is not None:
        # field 42 is the terminal's own setting: until it sends the new MID the host answers 03
        typer.echo(
            f"moved from merchant {done.moved_from}: set the terminal's MID to {done.mid} "
            "(until then the host answers 03) / 终端商户号需改为新商户号"
        )


@terminal_app.command("rekey")
def terminal_rekey(
    tid: TidOption,
    db: DbOption = DEFAULT_DB,
    key_file: KeyFileOption = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give a terminal a new TMK and print it once, with its check value.

    Its working keys are dropped at once: until the new TMK is loaded into the terminal and
    it signs on again, the host refuses its transactions (22, sign on again).
    """
    from possettle.host import edits

    with user_errors(), _ledger(db) as engine:
        vault = _existing_vault(db, key_file)
        with engine.begin() as conn:
            key, kcv = edits.rekey_terminal(conn, vault, tid)
            kcv_hex = kcv.hex().upper()
            _audit(conn, by, "terminal.rekey", f"terminal:{tid}", {"tmk_kcv": kcv_hex})
    # As in `terminal add`, showing the TMK is the one deliberate opt-in: it must reach the
    # terminal. The audit log keeps only its check value.
    if as_json:
        print_json({"tid": tid, "tmk": key.hex(), "tmk_kcv": kcv_hex})
        return
    typer.echo(f"terminal {tid} re-keyed: it must sign on again with the new TMK")
    typer.echo(f"TMK {key.hex()}  check value {kcv_hex}")
    typer.echo("store it now, it is not shown again")


# ----------------------------------------------------------------------------- reports


@report_app.command("day")
def report_day(
    day: Annotated[
        str, typer.Option("--date", metavar="YYYY-MM-DD", help="The business day to report.")
    ],
    zone: Annotated[
        str,
        typer.Option(
            "--zone",
            envvar="POSSETTLE_ZONE",
            help="The shop's time zone: the business day runs from midnight to midnight there.",
        ),
    ] = "Asia/Shanghai",
    as_csv: Annotated[
        bool, typer.Option("--csv", help="One CSV row per terminal (amounts in fen).")
    ] = False,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """The end-of-day report: every terminal, settled or not, its totals and its failures.

    Text shows amounts in yuan; --csv and --json in minor units (fen).
    """
    from datetime import date

    from possettle.ledger import dayreport, dayreport_format

    with user_errors():
        try:
            when = date.fromisoformat(day)
        except ValueError as e:
            raise ConfigError(
                f"--date: {day!r} is not a date YYYY-MM-DD (日期格式应为 YYYY-MM-DD)"
            ) from e
        with _ledger(db) as engine, engine.connect() as conn:
            report = dayreport.day_report(conn, when, zone)
    if as_json:
        print_json(dayreport_format.as_json(report))
    elif as_csv:
        typer.echo(dayreport_format.to_csv(report), nl=False)
    else:
        typer.echo(dayreport_format.to_text(report), nl=False)


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
                raise ConfigError.said("policy.bad_min_version", reason=e) from e
        with _ledger(db) as engine, engine.begin() as conn:
            if digits is not None:
                queries.set_policy(conn, MIN_VERSION, digits)
            if settlement_mac is not None:
                queries.set_policy(conn, SETTLEMENT_MAC, settlement_mac.value)
            current = queries.get_policy(conn, MIN_VERSION, NO_MIN_VERSION)
            mac = SettlementMac.parse(
                queries.get_policy(conn, SETTLEMENT_MAC, DEFAULT_SETTLEMENT_MAC.value)
            )
    shown = None if current == NO_MIN_VERSION else version_text(current)
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

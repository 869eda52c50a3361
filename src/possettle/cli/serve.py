"""``possettle host serve``: run the PS-CUP/1 acquirer host until SIGTERM / Ctrl-C."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from possettle.cli.common import (
    DEFAULT_DB,
    DbOption,
    KeyFileOption,
    fail,
    require_ledger,
    user_errors,
)


def serve_command(
    db: DbOption = DEFAULT_DB,
    port: Annotated[int, typer.Option("--port", help="TCP port for terminals.")] = 5000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    issuer: Annotated[
        str,
        typer.Option(
            "--issuer",
            help="Issuer connector: 'sim' (built-in simulator), 'sim:RULES.toml', "
            "or 'iso8583://HOST:PORT?timeout=5&zpk=HEX'.",
        ),
    ] = "sim",
    key_file: KeyFileOption = None,
    max_connections: Annotated[
        int, typer.Option("--max-connections", help="Connections beyond this are closed.")
    ] = 1024,
    idle_timeout: Annotated[
        float, typer.Option("--idle-timeout", help="Seconds a silent connection is kept.")
    ] = 60.0,
    max_connections_per_address: Annotated[
        int,
        typer.Option(
            "--max-connections-per-address",
            help="Connections from one source address beyond this are closed, so one address "
            "cannot take them all (raise it for a load generator).",
        ),
    ] = 512,
    first_frame_timeout: Annotated[
        float,
        typer.Option(
            "--first-frame-timeout",
            help="Seconds a new connection has to send a frame the host understands.",
        ),
    ] = 5.0,
    write_timeout: Annotated[
        float | None,
        typer.Option(
            "--write-timeout",
            help="Seconds a reply may wait for the peer to read it before the connection is "
            "dropped (default: the idle timeout).",
        ),
    ] = None,
    bad_frame_sample_size: Annotated[
        int,
        typer.Option(
            "--bad-frame-sample",
            help="Recent bad frames (format and MAC errors, masked) the ledger keeps; the "
            "others are only counted, per terminal and kind.",
        ),
    ] = 1000,
    bad_frame_retention_days: Annotated[
        float,
        typer.Option(
            "--bad-frame-retention-days",
            help="Days bad-frame samples and idle counters are kept.",
        ),
    ] = 7.0,
    issuer_timeout: Annotated[
        float, typer.Option("--issuer-timeout", help="Seconds to wait for the issuer (then 98).")
    ] = 10.0,
    json_logs: Annotated[bool, typer.Option("--json-logs", help="Log as JSON lines.")] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            help="Serve Prometheus /metrics here (ledger figures and this process's request "
            "and issuer latency histograms); off by default.",
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option("--metrics-host", help="Address /metrics listens on.")
    ] = "127.0.0.1",
    reversal_timeout: Annotated[
        float,
        typer.Option(
            "--reversal-timeout", help="Seconds one upstream reversal waits for its 0410."
        ),
    ] = 10.0,
    reversal_retry: Annotated[
        float,
        typer.Option(
            "--reversal-retry",
            help="Seconds before an unacknowledged reversal is sent again (doubling each time).",
        ),
    ] = 0.5,
    reversal_retry_max: Annotated[
        float,
        typer.Option("--reversal-retry-max", help="The longest wait between reversal attempts."),
    ] = 60.0,
    reversal_lease: Annotated[
        float,
        typer.Option(
            "--reversal-lease",
            help="Seconds past its budget a host holds an upstream request or reversal before "
            "another host process (or this one, restarted) takes it over.",
        ),
    ] = 30.0,
    reversal_poll: Annotated[
        float,
        typer.Option(
            "--reversal-poll", help="Look for due reversals (other hosts') at least this often."
        ),
    ] = 1.0,
    cutover: Annotated[
        str,
        typer.Option(
            "--cutover",
            metavar="HH:MM",
            help="Local time of the business-day cut-over (日切): an entry booked at or after "
            "it clears on the next day (CUP: 23:00; 00:00 clears on the calendar day).",
        ),
    ] = "23:00",
    timezone: Annotated[
        str,
        typer.Option("--timezone", metavar="ZONE", help="The host's zone for the cut-over."),
    ] = "Asia/Shanghai",
) -> None:
    """Serve PS-CUP/1 terminals from the ledger (SQLite or PostgreSQL) until stopped.

    The ledger and its vault key must exist (`possettle host init` creates them); an older
    schema is upgraded on start. SIGTERM or Ctrl-C stops accepting, lets
    in-flight requests finish, then exits. Upstream reversals (an authorization the issuer
    never answered, an approval the host could not book) are kept in the ledger and sent
    until the issuer acknowledges them, across restarts and by any host on the ledger.
    """
    from possettle.host.config import HostConfig
    from possettle.host.server import serve
    from possettle.ledger.business_day import BusinessDay
    from possettle.logs import configure_logging
    from possettle.monitor.metrics import HostTelemetry

    with user_errors():
        business_day = BusinessDay.parse(cutover, timezone)
    _require_ledger_and_key(db, key_file)
    configure_logging(json_lines=json_logs)
    config = HostConfig(
        db_url=db,
        host=host,
        port=port,
        issuer=issuer,
        key_file=Path(key_file) if key_file else None,
        max_connections=max_connections,
        idle_timeout=idle_timeout,
        max_connections_per_address=max_connections_per_address,
        first_frame_timeout=first_frame_timeout,
        write_timeout=write_timeout,
        bad_frame_sample_size=bad_frame_sample_size,
        bad_frame_retention=bad_frame_retention_days * 86400.0,
        issuer_timeout=issuer_timeout,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        reversal_timeout=reversal_timeout,
        reversal_retry_initial=reversal_retry,
        reversal_retry_max=reversal_retry_max,
        reversal_lease=reversal_lease,
        reversal_poll=reversal_poll,
        business_day=business_day,
    )
    with user_errors():
        asyncio.run(serve(config, telemetry=HostTelemetry()))


def _require_ledger_and_key(db: str, key_file: Path | None) -> None:
    """Serving needs the ledger and the key `host init` made: a mistyped --db or --key-file
    must not start a host on a new, empty ledger (every terminal would get 97) or a new key
    (no terminal key could be unsealed)."""
    import os

    from possettle.crypto.vault import ENV_VAR
    from possettle.ledger.engine import key_file_for

    with user_errors():
        require_ledger(db)
    path = key_file if key_file is not None else key_file_for(db)
    if not os.environ.get(ENV_VAR) and not path.exists():
        fail(
            f"vault key file {path} not found: `possettle host init --db {db}` creates it beside "
            f"the ledger (pass --key-file or set ${ENV_VAR} if it lives elsewhere)\n"
            f"错误：找不到主机密钥文件 {path}：它由 `possettle host init --db {db}` 创建"
            f"（若在别处，请用 --key-file 指定或设置 ${ENV_VAR}）"
        )

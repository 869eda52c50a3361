"""``possettle fault``: fault injection between terminals and the host.

``possettle fault proxy`` runs the adversity proxy until SIGTERM or Ctrl-C, then prints what
it did. Without ``--seed`` it picks one and prints it, so any run can be repeated exactly.
"""

from __future__ import annotations

import asyncio
import random
import signal
from typing import Annotated, Any

import typer

from possettle.cli.common import JsonOption, err, print_json, user_errors
from possettle.cli.fault_terminal import batch_command, clock_skew_command, stale_keys_command
from possettle.errors import ConfigError
from possettle.logs import configure_logging
from possettle.sim.proxy import AdversityProxy, Direction, Faults

app = typer.Typer(
    help="Fault injection: an adversity proxy between terminals and the host.",
    no_args_is_help=True,
)

_P = "(0 to 1)"


def parse_address(text: str, option: str, *, default_host: str | None = None) -> tuple[str, int]:
    """``HOST:PORT`` (or ``[v6]:PORT``; just ``PORT`` when there is a default host)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host = default_host or ""
    host = host.removeprefix("[").removesuffix("]")
    lowest = 0 if default_host is not None else 1  # port 0: let the system pick (listen only)
    if not host or not port.isdigit() or not lowest <= int(port) <= 65535:
        shape = "[HOST:]PORT" if default_host is not None else "HOST:PORT"
        raise ConfigError.said(
            "fault.address", option=option, shape=shape, lowest=lowest, text=repr(text)
        )
    return host, int(port)


def _signals(stop: asyncio.Event, *, install: bool) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        if install:
            loop.add_signal_handler(sig, stop.set)
        else:
            loop.remove_signal_handler(sig)


async def _run(proxy: AdversityProxy, seed: int) -> dict[str, int]:
    stop = asyncio.Event()
    _signals(stop, install=True)
    try:
        await proxy.start()
        try:
            err().print(
                f"proxy {proxy.listen_host}:{proxy.port} → {proxy.target_host}:"
                f"{proxy.target_port}  faults: {proxy.faults.summary()}  seed {seed}",
                soft_wrap=True,
            )
            await stop.wait()
        finally:
            await proxy.close()
    finally:
        _signals(stop, install=False)
    return proxy.counters


app.command("clock-skew")(clock_skew_command)
app.command("stale-keys")(stale_keys_command)
app.command("batch")(batch_command)


@app.command("proxy")
def proxy_command(
    listen: Annotated[
        str,
        typer.Option(
            "--listen", metavar="[HOST:]PORT", help="Where terminals connect (port 0: any free)."
        ),
    ],
    target: Annotated[
        str, typer.Option("--target", metavar="HOST:PORT", help="The host to relay to.")
    ],
    drop: Annotated[float, typer.Option("--drop", help=f"Drop a frame, probability {_P}.")] = 0.0,
    delay: Annotated[
        float, typer.Option("--delay", metavar="MS", help="Delay every frame by MS ms.")
    ] = 0.0,
    jitter: Annotated[
        float, typer.Option("--jitter", metavar="MS", help="Up to MS ms more delay, at random.")
    ] = 0.0,
    duplicate: Annotated[
        float, typer.Option("--duplicate", help=f"Send a frame twice, probability {_P}.")
    ] = 0.0,
    reorder: Annotated[
        float,
        typer.Option("--reorder", help=f"Hold a frame, send it after the next, probability {_P}."),
    ] = 0.0,
    reset: Annotated[
        float,
        typer.Option("--reset", help=f"Send part of a frame, then RST, probability {_P}."),
    ] = 0.0,
    stall_after: Annotated[
        int,
        typer.Option("--stall-after", metavar="N", help="Frames per connection before --stall."),
    ] = 0,
    stall: Annotated[
        float,
        typer.Option(
            "--stall", metavar="S", help="Forward nothing for S seconds, once per connection."
        ),
    ] = 0.0,
    cut_after: Annotated[
        int | None,
        typer.Option("--cut-after", metavar="N", help="Close a connection after N bytes."),
    ] = None,
    refuse: Annotated[
        bool, typer.Option("--refuse", help="Refuse every connection (as if the host were down).")
    ] = False,
    direction: Annotated[
        Direction,
        typer.Option("--direction", help="Fault frames going up (to the host), down, or both."),
    ] = Direction.BOTH,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for the random choices (default: any).")
    ] = None,
    as_json: JsonOption = False,
    json_logs: Annotated[bool, typer.Option("--json-logs", help="Log as JSON lines.")] = False,
) -> None:
    """Relay terminals to the host through faults, until SIGTERM or Ctrl-C.

    Faults act on whole PS-CUP/1 frames (found by their 2-byte length), on frames going
    --direction. At the end the counters are printed: connections, frames and bytes each
    way, and how often each fault struck.
    """
    with user_errors():
        listen_host, listen_port = parse_address(listen, "--listen", default_host="127.0.0.1")
        target_host, target_port = parse_address(target, "--target")
        faults = Faults(
            drop=drop, delay_ms=delay, jitter_ms=jitter, duplicate=duplicate, reorder=reorder,
            reset=reset, stall_after=stall_after, stall_s=stall, cut_after=cut_after,
            refuse=refuse, direction=direction,
        )  # fmt: skip
        # The one place a seed is invented; everything random after it follows from it.
        seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        configure_logging(json_lines=json_logs)
        proxy = AdversityProxy(
            listen_host, listen_port, target_host, target_port, faults, random.Random(seed)
        )
        counters = asyncio.run(_run(proxy, seed))
    report: dict[str, Any] = {
        "listen": f"{listen_host}:{proxy.port}",
        "target": f"{target_host}:{target_port}",
        "seed": seed,
        "faults": faults.summary(),
        "counters": counters,
    }
    if as_json:
        print_json(report)
        return
    typer.echo(
        f"proxy {report['listen']} → {report['target']}  faults: {report['faults']}  seed {seed}"
    )
    width = max(map(len, counters))
    for name, value in counters.items():
        typer.echo(f"{name.ljust(width)}  {value}")

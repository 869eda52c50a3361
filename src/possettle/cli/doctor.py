"""``possettle doctor``: why did this terminal's settlement fail, and what now?"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from possettle.cli.common import JsonOption, fail, out, print_json, user_errors
from possettle.errors import ConfigError


class Lang(StrEnum):
    BOTH = "both"
    EN = "en"
    ZH = "zh"


def doctor_command(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            envvar="POSSETTLE_TERMINAL_DIR",
            help="The terminal's directory.",
            file_okay=False,
        ),
    ] = None,
    host_db: Annotated[
        str | None,
        typer.Option("--host-db", help="The host's ledger, for the host's view and the fleet."),
    ] = None,
    tid: Annotated[
        str | None, typer.Option("--tid", help="With --host-db and no --dir: the host's side.")
    ] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="Run the safe recoveries (journaled), then look again.")
    ] = False,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the text output.")] = Lang.BOTH,
    no_probe: Annotated[
        bool, typer.Option("--no-probe", help="Do not contact the host (journal and device only).")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            help="The operator view: each cause's id, group, step and score, and what each "
            "recovery reported.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Name the cause of a failed settlement with its evidence, in Chinese and English, and
    (with --fix) run the safe recovery.

    Exit status 0 when nothing is left unresolved."""
    from possettle.doctor.render import render
    from possettle.doctor.run import Options, diagnose, diagnose_from_host
    from possettle.ledger.engine import create_engine_for
    from possettle.logs import configure_logging

    configure_logging(level=logging.WARNING)
    with user_errors():
        engine = create_engine_for(host_db) if host_db else None
        try:
            if directory is not None:
                opts = Options(host_engine=engine, fix=fix, probe=not no_probe)
                report = asyncio.run(diagnose(directory, opts))
            elif engine is not None and tid:
                report = diagnose_from_host(engine, tid)
            else:
                fail(ConfigError.said("doctor.what_to_diagnose"))
        finally:
            if engine is not None:
                engine.dispose()
    if as_json:
        print_json(report.as_dict())
    else:
        out().print(
            render(report, lang.value, verbose=verbose),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if not report.ok:
        raise typer.Exit(1)

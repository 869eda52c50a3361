"""Create a terminal directory: configuration, key file, journal and the sealed TMK."""

from __future__ import annotations

from pathlib import Path

from possettle.clock import Clock, SystemClock
from possettle.crypto.keys import Key
from possettle.crypto.vault import Vault
from possettle.errors import ConfigError
from possettle.terminal.config import CONFIG_FILE, JOURNAL_FILE, KEY_FILE, TerminalConfig
from possettle.terminal.journal import queries as q
from possettle.terminal.journal.store import Journal
from possettle.terminal.operators import OPERATOR_SCHEMA


def init_terminal(
    directory: Path,
    config: TerminalConfig,
    tmk: Key,
    *,
    clock: Clock | None = None,
    force: bool = False,
) -> None:
    """Write ``config`` and seal ``tmk`` into a new journal in ``directory``.

    Refuses to touch an existing terminal directory unless ``force`` (which keeps the journal
    and its transactions, and only replaces the configuration and the TMK).
    """
    if len(tmk) != 16:
        raise ConfigError.said("terminal.tmk_length")
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / CONFIG_FILE).exists() and not force:
        raise ConfigError.said("terminal.exists", directory=directory)
    config.save(directory)
    vault = Vault.load_or_create(directory / KEY_FILE)
    journal = Journal.open(
        directory / JOURNAL_FILE,
        clock=clock or SystemClock(),
        vault=vault,
        extra_schema=(OPERATOR_SCHEMA,),
    )
    try:
        with journal.write("meta") as conn:
            q.store_key(conn, vault, "tmk", tmk)
            q.drop_key(conn, "pik")
            q.drop_key(conn, "mak")
    finally:
        journal.close()

"""The registry: clear misuse errors, and terminal keys stored only sealed."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from possettle.crypto.errors import VaultError
from possettle.crypto.keys import Key, check_value
from possettle.crypto.vault import Vault
from possettle.host.errors import RegistryError
from possettle.host.registry import (
    add_merchant,
    add_terminal,
    get_terminal,
    get_terminal_keys,
    list_terminals,
    set_terminal_status,
    store_working_keys,
)
from possettle.ledger.engine import create_engine_for, sqlite_path
from possettle.ledger.kinds import TerminalStatus
from possettle.ledger.migrate import init_db
from possettle.ledger.schema import terminals

from .conftest import MID, T0, TID

TMK = Key.from_hex("CA5D92598DCA48CE8A4C76361A9269E9")
PIK = Key.from_hex("0123456789ABCDEFFEDCBA9876543210")
MAK = Key.from_hex("5BB5C72CD00B7338")


@pytest.mark.parametrize(
    ("mid", "message"),
    [
        ("89831004899000", "MID '89831004899000' is 14 characters, expecting exactly 15"),
        ("8983100489900012", "MID '8983100489900012' is 16 characters, expecting exactly 15"),
        (
            "89831004899000\t",
            "MID '89831004899000\\t' has a non-printable or non-ASCII character at position 14",
        ),
        (
            "8983100489900０1",
            "MID '8983100489900０1' has a non-printable or non-ASCII character at position 13",
        ),
    ],
)
def test_add_merchant_rejects_a_malformed_mid(engine: Engine, mid: str, message: str) -> None:
    with engine.begin() as conn, pytest.raises(RegistryError) as info:
        add_merchant(conn, mid, "Shop", at=T0)
    assert str(info.value) == message


def test_add_merchant_rejects_a_duplicate_and_an_empty_name(engine: Engine) -> None:
    with engine.begin() as conn:
        add_merchant(conn, MID, "Shop", at=T0)
        with pytest.raises(RegistryError) as dup:
            add_merchant(conn, MID, "Other shop", at=T0)
        with pytest.raises(RegistryError) as empty:
            add_merchant(conn, "898310048990002", "  ", at=T0)
    assert str(dup.value) == "merchant '898310048990001' is already registered"
    assert str(empty.value) == "merchant '898310048990002' needs a non-empty name"


@pytest.mark.parametrize(
    ("tid", "mid", "message"),
    [
        ("1234567", MID, "TID '1234567' is 7 characters, expecting exactly 8"),
        ("123456789", MID, "TID '123456789' is 9 characters, expecting exactly 8"),
        (
            "1234\n678",
            MID,
            "TID '1234\\n678' has a non-printable or non-ASCII character at position 4",
        ),
        (
            "87654321",
            "898310048990009",
            "cannot add terminal '87654321': merchant '898310048990009' is not registered",
        ),
        (TID, MID, "terminal '12345678' is already registered"),
    ],
)
def test_add_terminal_misuse_says_what_and_which(
    seeded: Engine, vault: Vault, tid: str, mid: str, message: str
) -> None:
    with seeded.begin() as conn, pytest.raises(RegistryError) as info:
        add_terminal(conn, vault, tid, mid, at=T0)
    assert str(info.value) == message


def test_add_terminal_returns_the_tmk_once_and_lists_only_its_check_value(
    engine: Engine, vault: Vault
) -> None:
    with engine.begin() as conn:
        add_merchant(conn, MID, "Shop", at=T0)
        tmk, kcv = add_terminal(conn, vault, TID, MID, region="SH", model="P2000", at=T0)
        fresh, fresh_kcv = add_terminal(conn, vault, "87654321", MID, at=T0)
    assert len(tmk) == 16 and kcv == check_value(tmk) and len(kcv) == 4
    assert len(fresh) == 16 and fresh != tmk and fresh_kcv == check_value(fresh)
    with engine.connect() as conn:
        rows = list_terminals(conn)
    assert [r.tid for r in rows] == ["12345678", "87654321"]
    row = rows[0]
    assert (row.mid, row.status, row.region, row.model) == (
        MID,
        TerminalStatus.ACTIVE,
        "SH",
        "P2000",
    )
    assert row.tmk_kcv == kcv.hex().upper() and len(row.tmk_kcv) == 8  # 4 bytes, as shown
    assert (row.signed_on, row.needs_signon, row.current_batch) == (False, False, 1)
    assert row.has_working_keys is False and row.created_at == T0
    assert tmk.hex() not in repr(rows)


def test_the_tmk_is_never_stored_in_clear(sqlite_url: str, vault: Vault) -> None:
    init_db(sqlite_url)
    engine = create_engine_for(sqlite_url)
    try:
        with engine.begin() as conn:
            add_merchant(conn, MID, "Shop", at=T0)
            add_terminal(conn, vault, TID, MID, TMK, at=T0)
            store_working_keys(conn, vault, TID, PIK, MAK, T0)
        with engine.connect() as conn:
            sealed = conn.execute(sa.select(terminals.c.tmk_sealed)).scalar_one()
            assert get_terminal_keys(conn, vault, TID).tmk == TMK
    finally:
        engine.dispose()
    path = sqlite_path(sqlite_url)
    assert path is not None
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    raw = b"".join(p.read_bytes() for p in files)
    assert sealed in raw  # the sealed blob is there, so we looked in the right place
    for key in (TMK, PIK, MAK):
        for form in (key.material, key.hex().encode(), key.hex().lower().encode()):
            assert form not in raw


def test_working_keys_round_trip_through_the_vault(seeded: Engine, vault: Vault) -> None:
    with seeded.begin() as conn:
        before = get_terminal_keys(conn, vault, TID)
        store_working_keys(conn, vault, TID, PIK, MAK, T0)
        after = get_terminal_keys(conn, vault, TID)
        row = get_terminal(conn, TID)
    assert (before.pik, before.mak) == (None, None)
    assert (after.tmk, after.pik, after.mak) == (before.tmk, PIK, MAK)
    assert row is not None and row.has_working_keys and row.keys_issued_at == T0


def test_a_sealed_key_cannot_be_moved_to_another_terminal(seeded: Engine, vault: Vault) -> None:
    with seeded.begin() as conn:
        add_terminal(conn, vault, "87654321", MID, at=T0)
        blob = conn.execute(
            sa.select(terminals.c.tmk_sealed).where(terminals.c.tid == TID)
        ).scalar_one()
        conn.execute(
            terminals.update().where(terminals.c.tid == "87654321").values(tmk_sealed=blob)
        )
        with pytest.raises(VaultError):
            get_terminal_keys(conn, vault, "87654321")


def test_set_terminal_status_and_its_errors(seeded: Engine) -> None:
    with seeded.begin() as conn:
        set_terminal_status(conn, TID, TerminalStatus.DISABLED)
        row = get_terminal(conn, TID)
        assert row is not None and row.status is TerminalStatus.DISABLED
        set_terminal_status(conn, TID, "active")
        with pytest.raises(RegistryError, match=r"^terminal '99999999' is not registered$"):
            set_terminal_status(conn, "99999999", "active")
        with pytest.raises(
            RegistryError, match=r"^terminal status 'paused' is not one of active, disabled$"
        ):
            set_terminal_status(conn, TID, "paused")


def test_unknown_terminals_are_registry_errors(seeded: Engine, vault: Vault) -> None:
    with seeded.begin() as conn:
        assert get_terminal(conn, "99999999") is None
        with pytest.raises(RegistryError, match=r"^terminal '99999999' is not registered$"):
            get_terminal_keys(conn, vault, "99999999")
        with pytest.raises(
            RegistryError,
            match=r"^cannot store working keys: terminal '99999999' is not registered$",
        ):
            store_working_keys(conn, vault, "99999999", PIK, MAK, T0)

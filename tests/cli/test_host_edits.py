"""``possettle host merchant edit``, ``terminal edit`` and ``terminal rekey`` on a real ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from possettle.cli.main import app
from possettle.crypto.keys import Key, check_value
from possettle.crypto.vault import Vault
from possettle.host.registry import get_terminal_keys
from possettle.ledger.batches import ensure_batch
from possettle.ledger.engine import create_engine_for
from possettle.ledger.kinds import EntryKind
from possettle.ledger.postings import NewEntry, post
from possettle.ledger.schema import audit_log, batches, terminals
from possettle.monitor import audit

MID = "123456789012345"
OTHER = "123456789099999"
TID = "12345678"
NO_MERCHANT = [
    "error: merchant '999999999999999' is not registered",
    "错误：商户号 999999999999999 未登记",
]
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POSSETTLE_DB", "POSSETTLE_HOST_KEY", "POSSETTLE_HOST_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", "ops-wang")


def host(db: str, *args: str) -> Result:
    return CliRunner().invoke(app, ["host", *args, "--db", db])


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    db = str(tmp_path / "host.db")
    assert host(db, "init").exit_code == 0
    for mid, name in ((MID, "Demo shop"), (OTHER, "Other shop")):
        assert host(db, "merchant", "add", "--mid", mid, "--name", name).exit_code == 0
    added = host(db, "terminal", "add", "--tid", TID, "--mid", MID, "--region", "SH")
    assert added.exit_code == 0, added.output
    return db


def audit_rows(db: str) -> list[tuple[str, str, str, dict[str, object]]]:
    engine = create_engine_for(db)
    try:
        with engine.connect() as conn:
            assert audit.verify(conn) == (True, None)
            rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
    finally:
        engine.dispose()
    return [(r.actor, r.action, r.target, json.loads(r.detail)) for r in rows]


def test_merchant_add_keeps_an_address_and_edit_changes_name_and_address(tmp_path: Path) -> None:
    db = str(tmp_path / "host.db")
    host(db, "init")
    added = host(
        db, "merchant", "add", "--mid", MID, "--name", "好运来便利店", "--address",
        "上海市浦东新区世纪大道100号", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["address"] == "上海市浦东新区世纪大道100号"
    edited = host(db, "merchant", "edit", "--mid", MID, "--name", "好运来超市", "--json")
    assert edited.exit_code == 0, edited.output
    assert json.loads(edited.output) == {
        "mid": MID,
        "name": "好运来超市",
        "address": "上海市浦东新区世纪大道100号",
    }
    text = host(db, "merchant", "edit", "--mid", MID, "--address", "北京市朝阳区1号")
    assert text.output == f"merchant {MID}: 好运来超市, address 北京市朝阳区1号\n"
    (row,) = json.loads(host(db, "merchant", "list", "--json").output)
    assert (row["name"], row["address"]) == ("好运来超市", "北京市朝阳区1号")
    assert audit_rows(db) == [
        ("ops-wang", "merchant.edit", f"merchant:{MID}", {"name": "好运来超市"}),
        ("ops-wang", "merchant.edit", f"merchant:{MID}", {"address": "北京市朝阳区1号"}),
    ]


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (
            ["merchant", "edit", "--mid", "999999999999999", "--name", "X"],
            NO_MERCHANT,
        ),
        (
            ["terminal", "edit", "--tid", "87654321", "--region", "BJ"],
            ["error: terminal '87654321' is not registered", "错误：终端号 87654321 未登记"],
        ),
        (
            ["terminal", "rekey", "--tid", "87654321"],
            ["error: terminal '87654321' is not registered", "错误：终端号 87654321 未登记"],
        ),
        (
            ["terminal", "edit", "--tid", TID, "--mid", "999999999999999"],
            NO_MERCHANT,
        ),
        (
            ["merchant", "edit", "--mid", MID, "--address", "x" * 81],
            [f"error: address for '{MID}' is 81 characters, at most 80",
             f"错误：商户 {MID} 的地址长 81 个字符，最多 80 个"],
        ),
        (
            ["merchant", "edit", "--mid", MID],
            ["error: nothing to change: give --name or --address", "错误：未指定要修改的内容"],
        ),
    ],
)  # fmt: skip
def test_unknown_ids_and_bad_values_are_bilingual_errors_and_change_nothing(
    ledger: str, args: list[str], lines: list[str]
) -> None:
    result = host(ledger, *args)
    assert result.exit_code == 1
    assert result.output.splitlines() == lines
    assert audit_rows(ledger) == []


def test_terminal_edit_changes_region_and_model_and_moves_an_empty_terminal(ledger: str) -> None:
    result = host(ledger, "terminal", "edit", "--tid", TID, "--region", "BJ", "--model", "A8")
    assert result.exit_code == 0, result.output
    assert result.output == f"terminal {TID}: merchant {MID}, region BJ, model A8\n"
    moved = host(ledger, "terminal", "edit", "--tid", TID, "--mid", OTHER, "--json")
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.output) == {
        "tid": TID, "mid": OTHER, "region": "BJ", "model": "A8", "moved_from": MID,
    }  # fmt: skip
    (row,) = json.loads(host(ledger, "terminal", "list", "--json").output)
    assert (row["mid"], row["region"], row["model"]) == (OTHER, "BJ", "A8")
    assert [a[1] for a in audit_rows(ledger)] == ["terminal.edit", "terminal.edit"]


def _one_sale(db: str) -> None:
    engine = create_engine_for(db)
    try:
        with engine.begin() as conn:
            ensure_batch(conn, TID, 1, MID, T0)
            post(
                conn,
                NewEntry(
                    tid=TID, mid=MID, batch=1, stan="000001", kind=EntryKind.SALE, amount=1200,
                    currency="156", domestic=True, pan_hash="h" * 64,
                    pan_masked="622202******1234", rrn="000000000001", auth_code="123456",
                    card_org="CUP", host_date=T0.date(), created_at=T0, clearing_date=T0.date(),
                ),
            )  # fmt: skip
    finally:
        engine.dispose()


def test_a_terminal_with_unsettled_sales_does_not_move_and_says_why(ledger: str) -> None:
    _one_sale(ledger)
    result = host(ledger, "terminal", "edit", "--tid", TID, "--mid", OTHER)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"error: terminal '{TID}' cannot move to merchant '{OTHER}': its open batch 000001 "
        "holds 1 unsettled transaction(s); settle it first",
        f"错误：终端 {TID} 不能转到商户 {OTHER}：其批次 000001 中有 1 笔未结算交易，请先结算",
    ]
    (row,) = json.loads(host(ledger, "terminal", "list", "--json").output)
    assert row["mid"] == MID
    engine = create_engine_for(ledger)
    try:
        with engine.begin() as conn:
            conn.execute(sa.update(batches).values(status="settling"))
    finally:
        engine.dispose()
    settling = host(ledger, "terminal", "edit", "--tid", TID, "--mid", OTHER)
    assert settling.exit_code == 1
    assert "its batch 000001 is being settled" in settling.output


def test_rekey_prints_a_new_tmk_once_and_drops_the_working_keys(ledger: str) -> None:
    engine = create_engine_for(ledger)
    vault = Vault.from_env_or_file(Path(ledger + ".key"))
    old = None
    try:
        with engine.begin() as conn:
            old = get_terminal_keys(conn, vault, TID).tmk
            # as after a sign-on: working keys issued
            conn.execute(
                sa.update(terminals).values(
                    pik_sealed=vault.seal_key(Key(bytes(range(16))), b"pik:" + TID.encode()),
                    mak_sealed=vault.seal_key(Key(bytes(range(8))), b"mak:" + TID.encode()),
                    signed_on=True,
                )
            )
        result = host(ledger, "terminal", "rekey", "--tid", TID, "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        new = Key.from_hex(data["tmk"])
        assert data["tmk_kcv"] == check_value(new).hex().upper()
        with engine.connect() as conn:
            keys = get_terminal_keys(conn, vault, TID)
            row = conn.execute(sa.select(terminals)).one()
        assert keys.tmk.hex() == new.hex() != old.hex()
        assert (keys.pik, keys.mak) == (None, None)
        assert (row.signed_on, row.needs_signon, row.tmk_kcv) == (False, True, data["tmk_kcv"])
    finally:
        engine.dispose()
    (entry,) = audit_rows(ledger)
    assert entry == ("ops-wang", "terminal.rekey", f"terminal:{TID}", {"tmk_kcv": data["tmk_kcv"]})
    assert data["tmk"] not in json.dumps(entry)
    text = host(ledger, "terminal", "rekey", "--tid", TID)
    lines = text.output.splitlines()
    assert lines[0] == f"terminal {TID} re-keyed: it must sign on again with the new TMK"
    assert lines[2] == "store it now, it is not shown again"

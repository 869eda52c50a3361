"""``possettle alerts`` and ``possettle audit`` end to end on a real ledger (the commands use
the system clock, so the fleet is built relative to it)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.clock import FixedClock, SystemClock
from possettle.ledger.schema import audit_log
from tests.monitor.conftest import Fleet

runner = CliRunner()


@pytest.fixture
def clock() -> FixedClock:
    # two hours ago: terminals registered "now" by the fleet look silent to the real clock
    return FixedClock(SystemClock().now() - timedelta(hours=2))


@pytest.fixture
def dark(fleet: Fleet) -> Fleet:
    fleet.terminals("shanghai", 4, prefix="SHA1")
    fleet.seen(fleet.terminals("beijing", 4, prefix="BJA1"), at=SystemClock().now())
    return fleet


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_alerts_evaluate_list_ack_and_audit_verify(ledger_url: str, dark: Fleet) -> None:
    code, text = _run("alerts", "evaluate", "--db", ledger_url)
    assert code == 0, text
    assert text.startswith("1 opened, 0 still firing, 0 resolved, 0 sent to webhooks\n")
    assert "PossettleRegionDark" in text and "SHA10003" in text

    code, text = _run("alerts", "evaluate", "--db", ledger_url, "--json")
    data = json.loads(text)
    assert (len(data["opened"]), len(data["updated"])) == (0, 1)
    alert_id = data["updated"][0]["id"]

    code, text = _run("alerts", "list", "--db", ledger_url, "--json")
    assert [a["rule"] for a in json.loads(text)] == ["PossettleRegionDark"]

    code, text = _run(
        "alerts", "ack", "--db", ledger_url, "--id", str(alert_id), "--by", "alice",
        "--note", "carrier outage, ticket 881",
    )  # fmt: skip
    assert (code, text) == (0, f"alert {alert_id} (PossettleRegionDark) acknowledged by alice\n")
    code, text = _run("alerts", "list", "--db", ledger_url, "--active", "--json")
    (listed,) = json.loads(text)
    assert (listed["status"], listed["ack_by"]) == ("acknowledged", "alice")
    wide = runner.invoke(app, ["alerts", "list", "--db", ledger_url], env={"COLUMNS": "160"})
    assert wide.exit_code == 0
    assert "│ acknowledged │ critical │ RegionDark │ region=shanghai │ 4 " in wide.output

    code, text = _run("audit", "verify", "--db", ledger_url, "--json")
    report = json.loads(text)
    assert code == 0 and (report["ok"], report["first_bad_id"], report["rows"]) == (True, None, 1)
    code, text = _run("audit", "list", "--db", ledger_url, "--json")
    (entry,) = json.loads(text)
    assert (entry["actor"], entry["action"], entry["target"]) == (
        "alice", "alert.ack", f"alert:{alert_id}",
    )  # fmt: skip
    assert json.loads(entry["detail"]) == {"note": "carrier outage, ticket 881"}

    code, text = _run("alerts", "resolve", "--db", ledger_url, "--id", str(alert_id), "--by", "bob")
    assert (code, text) == (0, f"alert {alert_id} (PossettleRegionDark) resolved\n")


def test_audit_verify_exits_1_and_names_the_first_tampered_row(
    ledger_url: str, engine: Engine, dark: Fleet
) -> None:
    _run("alerts", "evaluate", "--db", ledger_url)
    for who in ("alice", "bob"):
        _run("alerts", "ack", "--db", ledger_url, "--id", "1", "--by", who, "--note", "seen")
    code, text = _run("audit", "verify", "--db", ledger_url)
    assert code == 0 and text.startswith("audit log intact: 2 rows, head ")
    with engine.begin() as conn:
        first = conn.execute(sa.select(sa.func.min(audit_log.c.id))).scalar_one()
        conn.execute(sa.update(audit_log).where(audit_log.c.id == first).values(actor="mallory"))
    code, text = _run("audit", "verify", "--db", ledger_url)
    assert code == 1
    assert f"audit log tampered: row {first} does not match" in " ".join(text.split())
    code, text = _run("audit", "verify", "--db", ledger_url, "--json")
    assert code == 1 and json.loads(text)["first_bad_id"] == first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alerts", "ack", "--id", "42", "--by", "alice", "--note", "x"], "no alert with id 42"),
        (["alerts", "evaluate", "--webhook", "ftp://example.org/x"], "is not an http:// or"),
        (["alerts", "resolve", "--id", "7", "--by", "alice"], "no alert with id 7"),
    ],
)
def test_mistakes_end_in_one_error_line(ledger_url: str, args: list[str], message: str) -> None:
    code, text = _run(*args, "--db", ledger_url)
    assert code == 1
    assert text.startswith("error: ") and message in " ".join(text.split())


def test_a_missing_ledger_is_not_created(tmp_path: object) -> None:
    code, text = _run("alerts", "list", "--db", f"{tmp_path}/nope.db")
    assert code == 1 and "no ledger at" in text and "possettle host init" in text


@pytest.mark.parametrize(
    "path",
    [["alerts"], ["alerts", "evaluate"], ["alerts", "list"], ["alerts", "ack"],
     ["alerts", "resolve"], ["audit"], ["audit", "verify"], ["audit", "list"]],
)  # fmt: skip
def test_every_command_has_help(path: list[str]) -> None:
    code, text = _run(*path, "--help")
    assert code == 0 and "Usage:" in text

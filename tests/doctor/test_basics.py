"""The doctor on a healthy terminal, on one with no data, and its JSON and text shapes."""

from __future__ import annotations

from pathlib import Path

from possettle.doctor.render import render
from tests.doctor.harness import doctor, make_terminal, settle, trade
from tests.host.harness import register, running_host

AREAS = {"power", "printer", "reader", "storage", "network", "host", "keys", "clock",
         "software", "operators", "batch"}  # fmt: skip


async def test_a_healthy_terminal_is_reported_healthy(tmp_path: Path, sqlite_url: str) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        assert (await settle(term))["ok"]
        report = await doctor(term, sqlite_url)
    data = report.as_dict()
    assert data["ok"] is True, data
    assert data["diagnoses"] == []
    assert {c["area"] for c in data["checks"]} == AREAS
    assert all(c["status"] == "ok" for c in data["checks"]), data["checks"]


async def test_a_terminal_with_no_data_is_unknown_not_healthy(tmp_path: Path) -> None:
    term = make_terminal(tmp_path / "t", 1)  # nothing listens on port 1
    report = await doctor(term)
    data = report.as_dict()
    assert data["ok"] is False
    statuses = {c["area"]: c["status"] for c in data["checks"]}
    assert "ok" not in {statuses[a] for a in ("power", "keys", "batch", "storage")}
    assert statuses["host"] in ("fail", "unknown")


async def test_the_text_comes_in_both_languages_and_each_alone(tmp_path: Path) -> None:
    term = make_terminal(tmp_path / "t", 1)
    report = await doctor(term)
    both, en, zh = render(report), render(report, "en"), render(report, "zh")
    assert "Doctor summary" in both and "诊断" in both
    assert "Doctor summary" in en and "诊断" not in en
    assert "诊断" in zh and "Doctor summary" not in zh
    for line in both.splitlines()[1:12]:
        assert line[:3] in ("[✓]", "[!]", "[✗]", "[?]"), line

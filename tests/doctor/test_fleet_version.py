"""Fleet context for software: when most terminals on one version are refused, say so."""

from __future__ import annotations

from pathlib import Path

from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import terminals
from tests.doctor.harness import doctor, make_terminal, open_pos, settle, trade
from tests.doctor.scenes import evidence, expect_top, host_policy
from tests.host.harness import KEYS, register, running_host

TIDS = ["12345678", "12345679", "12345680"]


async def test_one_version_failing_across_the_fleet_is_named_as_shared(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file, dict.fromkeys(TIDS, KEYS["tmk"]))
    async with running_host(sqlite_url, key_file) as host:
        terms = [
            make_terminal(tmp_path / tid, host.port, tid=tid, version="010000") for tid in TIDS
        ]
        for term in terms:
            await trade(term, sales=2)
        host_policy(sqlite_url, "min_version", "010500")
        for term in terms:
            pos = open_pos(term)
            try:
                await pos.terminal.sign_off()
            finally:
                await pos.close()
            assert (await settle(term))["ok"] is False  # 58 at the sign-on
        engine = create_engine_for(sqlite_url)
        with engine.connect() as conn:
            versions = list(conn.execute(terminals.select()).mappings())
        engine.dispose()
        assert {v["software_version"] for v in versions} == {"010000"}
        report = await doctor(terms[0], sqlite_url)
    top = expect_top(report, "software.outdated", "software", "sign_on")
    assert evidence(top)["version.failing"] == [{"version": "010000", "failing": 3, "of": 3}]

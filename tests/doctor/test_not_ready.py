"""A terminal that never signed on is not ready: ``ok: false``, "never signed on / 未签到",
however well the host answers (issue 11). The doctor used to call it healthy: the journal
had nothing in it and the echo test passed."""

from __future__ import annotations

from pathlib import Path

from tests.doctor.harness import doctor, make_terminal, open_pos
from tests.doctor.scenes import doctor_cli
from tests.host.harness import register, running_host


async def test_a_terminal_that_never_signed_on_is_not_ready_while_the_host_answers(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        report = await doctor(term)  # the link probe reaches the host: it answers echoes
        data = report.as_dict()
        assert data["ok"] is False, data
        keys = next(c for c in data["checks"] if c["area"] == "keys")
        assert keys["status"] == "fail", data["checks"]
        assert "never signed on" in keys["en"] and "未签到" in keys["zh"], keys
        network = next(c for c in data["checks"] if c["area"] == "network")
        assert network["status"] == "ok", data["checks"]  # the host does answer

        # the command a merchant runs says the same, in both languages, and exits non-zero
        for lang in ("en", "zh"):
            run = await doctor_cli("--dir", str(term), "--lang", lang)
            assert run.code != 0, run.stdout + run.stderr
            assert ("never signed on" if lang == "en" else "未签到") in run.stdout, run.stdout
        run = await doctor_cli("--dir", str(term), "--host-db", sqlite_url, "--json")
        assert run.code != 0 and run.json()["ok"] is False, run.stdout

        # signing on makes it ready
        pos = open_pos(term)
        try:
            await pos.sign_on()
        finally:
            await pos.close()
        after = (await doctor(term)).as_dict()
        assert after["ok"] is True, after
        keys = next(c for c in after["checks"] if c["area"] == "keys")
        assert keys["status"] == "ok", after["checks"]


async def test_the_doctors_fix_for_a_terminal_that_never_signed_on_is_a_sign_on(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        fixed = await doctor(term, fix=True)
        top = fixed.diagnoses[0]
        assert top.recovery is not None and top.recovery["action"] == "sign_on", top.recovery
        assert top.recovery["result"] == "ok", top.recovery
        assert fixed.as_dict()["ok"] is True, fixed.as_dict()  # keys ✓ once signed on
        after = (await doctor(term)).as_dict()
    assert after["ok"] is True, after

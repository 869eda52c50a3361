"""The doctor names software causes (软件) of the terminal and its protocol: an outdated
version, a crash mid-settlement, a message the host cannot parse, keys out of sync.

The unparseable message is the one fault injected into the terminal's code rather than its
surroundings: a build whose 0500 loses its last bytes (``Link.encode`` patched for that one
message). No setting of a correct terminal makes the host's decoder fail; everything after
the encoder (socket, host decoder, its ``30`` reply and format-error event, the journal) is real.

Batch and reversal causes are in ``test_batch.py``; the host and the network in
``test_host.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from possettle.crypto.keys import generate_key
from possettle.iso8583.codec import Fields
from possettle.link.client import Link
from possettle.terminal.config import TerminalConfig
from possettle.terminal.crashpoints import MODE_ENV
from possettle.terminal.errors import HostRefused
from tests.doctor.harness import doctor, make_terminal, open_pos, settle, trade
from tests.doctor.scenes import evidence, expect_top, host_policy
from tests.host.harness import TID, TMK, register, running_host
from tests.terminal.faults import cli, forget_at_host
from tests.terminal.relay import Rule, first, mac_relay
from tests.terminal.scenario import point_at, rekey_at_host


async def test_software_below_the_hosts_minimum_is_outdated_until_it_is_updated(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port, version="010000")
        await trade(term)
        host_policy(sqlite_url, "min_version", "010500")  # the acquirer raised the minimum
        pos = open_pos(term)
        try:
            await pos.terminal.sign_off()  # end of the day; settlement signs on again
        finally:
            await pos.close()
        result = await settle(term)
        assert result["ok"] is False
        assert result["failure"]["code"] == "58"  # type: ignore[index]

        report = await doctor(term, sqlite_url, fix=True)
        top = expect_top(report, "software.outdated", "software", "sign_on")
        ev = evidence(top)
        assert ev["sign_on_refused"] == [{"code": "58", "field63": "MINVER=010500"}]
        assert ev["policy.min_version"] == [{"version": "010000", "min": "010500"}]
        assert top.recovery is None  # an update is not run unattended
        assert report.ok is False

        TerminalConfig.load(term).with_changes(version="010500").save(term)  # updated
        assert (await settle(term))["ok"] is True
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()


async def test_a_crash_mid_settlement_is_software_and_the_settlement_resumes(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        monkeypatch.setenv(MODE_ENV, "exception")
        run = await cli(term, "settle", crash_at="send.settlement.after")
        monkeypatch.delenv(MODE_ENV)
        assert run.code == 70, run.stdout + run.stderr

        report = await doctor(term, sqlite_url)
        top = expect_top(report, "software.crash", "software", "settle")
        ev = evidence(top)
        assert ev["software_crash"] == [{"type": "InjectedCrash", "point": "send.settlement.after"}]
        causes = [d.cause.id for d in report.diagnoses]
        assert "power.interrupted" not in causes  # a crash record is not a power cut

        report = await doctor(term, sqlite_url, fix=True)
        assert report.diagnoses[0].recovery is not None
        assert report.diagnoses[0].recovery["action"] == "resume_settlement"
        assert report.diagnoses[0].recovery["result"] == "ok", report.diagnoses[0].recovery
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()
    assert after.batch == 2


async def test_keys_the_host_does_not_share_are_out_of_sync_and_a_sign_on_mends_them(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        # The acquirer loaded another TMK that never reached the terminal; the morning
        # sign-on cannot read the working keys, and the settlement cannot sign on either.
        rekey_at_host(sqlite_url, key_file, TID, generate_key(16))
        pos = open_pos(term)
        try:
            with pytest.raises(HostRefused):
                await pos.sign_on()
        finally:
            await pos.close()
        result = await settle(term)
        assert result["ok"] is False
        assert result["failure"]["step"] == "sign_on"  # type: ignore[index]

        report = await doctor(term, sqlite_url, fix=True)
        top = expect_top(report, "keys.out_of_sync", "software", "sign_on")
        assert "key_check_failed" in evidence(top)
        assert top.recovery is not None
        assert top.recovery["action"] == "sign_on"
        assert top.recovery["result"] == "failed"  # the same wrong TMK: reload it
        checks = {c["area"]: c["status"] for c in report.as_dict()["checks"]}
        assert checks["keys"] == "fail"

        rekey_at_host(sqlite_url, key_file, TID, TMK)  # the acquirer reloads the right TMK
        report = await doctor(term, sqlite_url, fix=True)
        assert report.diagnoses[0].cause.id == "keys.out_of_sync"
        assert report.diagnoses[0].recovery is not None
        assert report.diagnoses[0].recovery["result"] == "ok", report.diagnoses[0].recovery
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()
    assert after.batch == 2  # signed on, then the settlement was retried to the end


def _a_build_that_truncates_its_0500(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: a terminal build whose settlement request loses its last bytes on the way out
    (a codec bug after an update); every other message is unchanged."""
    encode = Link.encode

    def broken(self: Link, fields: Fields) -> bytes:
        frame = encode(self, fields)
        if fields["t"] != "0500":
            return frame
        body = frame[2:-3]  # the tail of field 63 is lost; LEN says what is left
        return len(body).to_bytes(2, "big") + body

    monkeypatch.setattr(Link, "encode", broken)


async def test_a_message_the_host_cannot_parse_is_protocol_incompatible(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        with monkeypatch.context() as patch:
            _a_build_that_truncates_its_0500(patch)
            result = await settle(term)
        assert result["ok"] is False
        assert result["failure"]["code"] == "30"  # type: ignore[index]

        alone = await doctor(term)  # the terminal's journal alone
        expect_top(alone, "protocol.incompatible", "software", "settle")
        report = await doctor(term, sqlite_url, fix=True)
        top = expect_top(report, "protocol.incompatible", "software", "settle")
        ev = evidence(top)
        assert ev["settle_failed"] == [{"step": "settle", "code": "30"}]
        assert ev["bad_frames.format_error"] == [1]  # the host counted what it could not read
        assert top.recovery is None  # parameters or an update: not unattended

        assert (await settle(term))["ok"] is True  # the fixed build settles the same batch
        after = await doctor(term, sqlite_url)
    assert after.ok, after.as_dict()


@pytest.mark.parametrize(
    ("spoil", "step"),
    [
        (first("0500", up=True, times=99), "settle"),  # the host refuses it: A0
        (first("0320", up=True, net="201", times=99), "batch_upload"),
        (first("0510", up=False, times=99), "settle"),  # the terminal cannot trust it
    ],
    ids=["0500_refused", "0320_refused", "0510_unverified"],
)
async def test_a_settlement_mac_that_fails_after_a_fresh_sign_on_is_keys_out_of_sync(
    tmp_path: Path, sqlite_url: str, spoil: Rule, step: str
) -> None:
    """Settlement messages are MACed (docs/protocol.md): an ``A0`` to one, or an approval whose
    MAC does not verify, is handled as for a sale: sign on again and retry. When it fails again
    the doctor names keys.out_of_sync at that step; its sign-on recovery then finishes the
    settlement once the MACs verify (here: the link that spoiled them is gone)."""
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host, mac_relay(host.port, spoil) as relay:
        term = make_terminal(tmp_path / "t", host.port)
        await trade(term)
        if step == "batch_upload":
            forget_at_host(sqlite_url, TID, 2)  # out of balance: the batch goes up in 0320s
        point_at(term, relay.port)
        result = await settle(term)
        assert result["ok"] is False
        assert result["failure"]["code"] == "A0", result  # type: ignore[index]
        assert len([s for s in relay.seen if s.spoiled]) == 2  # one fresh sign-on in between

        report = await doctor(term, sqlite_url)
        top = expect_top(report, "keys.out_of_sync", "software", step)
        assert evidence(top)["settle_failed"] == [{"step": step, "code": "A0"}]

        point_at(term, host.port)
        report = await doctor(term, sqlite_url, fix=True)
        assert report.diagnoses[0].cause.id == "keys.out_of_sync"
        assert report.diagnoses[0].recovery is not None
        assert report.diagnoses[0].recovery["result"] == "ok", report.diagnoses[0].recovery
        after = await doctor(term, sqlite_url)
    assert after.batch == 2  # signed on, then the same batch settled to the end
    checks = {c["area"]: c["status"] for c in after.as_dict()["checks"]}
    assert checks["keys"] == "ok"
    if step == "batch_upload":  # what remains is the planted imbalance, for reconciliation
        assert [d.cause.id for d in after.diagnoses] == ["batch.out_of_balance"]
    else:
        assert after.ok, after.as_dict()

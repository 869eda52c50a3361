"""No false alarms: an ordinary day's bumps that the terminal absorbs on its own leave the
doctor with nothing to say, before and after the settlement."""

from __future__ import annotations

from pathlib import Path

import pytest

from possettle.sim.proxy import Faults
from possettle.terminal.errors import Refused
from possettle.terminal.operators import Role
from tests.doctor.harness import doctor, make_terminal, open_pos
from tests.doctor.scenes import relay
from tests.host.harness import register, running_host
from tests.terminal.harness import CUP_PAN, CUP_PAN_2, VISA_PAN

AREAS = 11


async def test_a_busy_day_with_a_typo_a_void_a_refund_and_an_offline_sale_is_healthy(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host, relay(host.port) as proxy:
        term = make_terminal(tmp_path / "t", proxy.port)
        pos = open_pos(term)
        try:
            pos.add_operator("01", "Wang", Role.SUPERVISOR, "8642")
            with pytest.raises(Refused):
                pos.login("01", "8641")  # a typo ...
            op = pos.login("01", "8642")  # ... mended at once
            await pos.sign_on(op)
            sales = [await pos.sale(pan, 1000 + n, expiry="3012", op=op)
                     for n, pan in enumerate((CUP_PAN, CUP_PAN_2, VISA_PAN))]  # fmt: skip
            assert (await pos.void(sales[0].stan, op=op)).approved
            refund = await pos.refund(500, orig_batch=1, orig_stan=sales[1].stan, op=op)
            assert refund.approved
            proxy.faults = Faults(refuse=True)  # the host is away for a moment
            await pos.terminal.drop_link()  # (refusing acts on new connections)
            offline = await pos.sale(CUP_PAN_2, 800, expiry="3012", op=op)
            assert offline.offline
            proxy.faults = Faults()
        finally:
            await pos.close()

        during = await doctor(term, sqlite_url)
        assert during.diagnoses == [], during.as_dict()

        pos = open_pos(term)
        try:
            op = pos.login("01", "8642")
            report = await pos.settle(op=op)  # forwards the offline sale first
            assert report.ok and report.printed
        finally:
            await pos.close()
        after = await doctor(term, sqlite_url)
    data = after.as_dict()
    assert data["ok"] is True and data["diagnoses"] == [], data
    assert [c["status"] for c in data["checks"]] == ["ok"] * AREAS, data["checks"]

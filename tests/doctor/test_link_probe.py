"""The doctor's link probe: how many echo tests it sends, and what a lossy line shows.

Three echoes miss a line that loses 30% of the host's replies a third of the time (0.7³), so
the probe samples ten while they are answered; it stops after two unanswered, each of which
costs a read timeout, since by then the loss is shown.
"""

from __future__ import annotations

from pathlib import Path

from possettle.clock import SystemClock
from possettle.doctor.probes import ECHOES, LOST_ENOUGH, probe_link
from possettle.sim.proxy import Direction, Faults
from possettle.terminal.config import TerminalConfig
from tests.doctor.harness import doctor, make_terminal, settle, trade
from tests.doctor.scenes import FAST, relay, set_timeout
from tests.host.harness import register, running_host


async def test_the_probe_samples_a_healthy_line_ten_times_and_a_dead_one_twice(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host, relay(host.port) as proxy:
        term = make_terminal(tmp_path / "t", proxy.port)
        cfg = TerminalConfig.load(term)
        healthy = await probe_link(cfg, SystemClock().now())
        assert (healthy.echoes_sent, healthy.echoes_answered) == (ECHOES, ECHOES) == (10, 10)

        proxy.faults = Faults(drop=1.0, direction=Direction.DOWN)
        set_timeout(term, FAST)
        dead = await probe_link(TerminalConfig.load(term), SystemClock().now())
        assert (dead.connect, dead.echoes_sent, dead.echoes_answered) == ("ok", LOST_ENOUGH, 0)
        assert dead.loss == 1.0


async def test_a_settled_terminal_on_a_line_that_loses_some_replies_is_named_unstable(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file)
    async with running_host(sqlite_url, key_file) as host, relay(host.port, seed=8) as proxy:
        term = make_terminal(tmp_path / "t", proxy.port)
        await trade(term)
        assert (await settle(term))["ok"] is True
        # with this seed the proxy answers the first three echoes and loses a later one
        proxy.faults = Faults(drop=0.3, direction=Direction.DOWN)
        set_timeout(term, FAST)
        report = await doctor(term, sqlite_url)
        assert [d.cause.id for d in report.diagnoses][:1] == ["network.unstable"], report.as_dict()
        assert not report.ok

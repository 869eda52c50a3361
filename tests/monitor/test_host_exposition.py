"""A host process serves its own ``/metrics``: its request and issuer latency histograms
beside the ledger's figures, and the pending reversals and offline items its terminals report.

Real host, real sockets, real scrapes over HTTP; the terminal's faults are real (a line that
loses the host's replies, a host that cannot be reached).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from possettle.errors import ConfigError
from possettle.host.config import HostConfig
from possettle.host.server import serve
from possettle.iso8583 import codec
from possettle.iso8583.framing import FrameReader
from possettle.sim.proxy import Direction, Faults
from tests.doctor.harness import doctor, make_terminal, open_pos
from tests.doctor.scenes import FAST, relay, set_timeout
from tests.host.harness import TID, register, running_host
from tests.host.test_bad_input import ECHO, frame_of, raw_exchange
from tests.terminal.harness import CUP_PAN, VISA_PAN

OFFLINE = {
    "settlement_window": "always",
    "offline": {"max_amount": 5_000, "max_count": 3, "max_total": 9_000},
}


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape, keyed by (sample name, sorted labels)."""

    def get() -> str:
        reply = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        reply.raise_for_status()
        return reply.text

    text = await asyncio.to_thread(get)
    assert TID not in text  # never a TID label
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """The sample ``name`` whose labels include ``labels`` (exactly one must match)."""
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls)]
    assert len(found) == 1, (name, labels, found)
    return found[0]


async def test_the_host_times_its_requests_and_the_issuer(tmp_path: Path, db_url: str) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with running_host(db_url, key_file, metrics_port=0) as host:
        port = host.server.metrics_port
        assert port is not None
        before = await scrape(port)
        assert not [k for k in before if k[0] == "possettle_host_request_seconds_count"]
        pos = open_pos(make_terminal(tmp_path / "t", host.port))
        try:
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 1200, expiry="3012")).approved
            assert (await pos.sale(VISA_PAN, 800, expiry="3012")).approved
        finally:
            await pos.close()
        # a frame that does not decode is timed too, under its own bounded label
        reply = await raw_exchange(host.port, frame_of(ECHO[13:-4]))
        assert codec.decode(FrameReader().feed(reply)[0].body)["39"] == "30"
        after = await scrape(port)
    count = "possettle_host_request_seconds_count"
    assert value(after, count, kind="sale") == 2
    assert value(after, count, kind="sign_on") == 1
    assert value(after, count, kind="format_error") == 1
    assert value(after, "possettle_upstream_seconds_count", connector="simulator") == 2
    slow = value(after, "possettle_host_request_seconds_bucket", kind="sale", le="+Inf")
    assert slow == 2
    # the ledger's figures come with them, read at scrape time
    approved = [
        v for (n, ls), v in after.items()
        if n == "possettle_transactions_total" and ("kind", "authorization") in ls
    ]  # fmt: skip
    assert sum(approved) == 2, approved


async def test_reported_pending_reversals_and_offline_items_reach_the_gauges(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    async with running_host(db_url, key_file, metrics_port=0) as host, relay(host.port) as proxy:
        term = make_terminal(tmp_path / "t", proxy.port, policy=OFFLINE)
        pos = open_pos(term)
        try:
            await pos.sign_on()
            assert (await pos.sale(CUP_PAN, 1000, expiry="3012")).approved
            # the host's reply is lost: the terminal must reverse, and cannot yet
            proxy.faults = Faults(drop=1.0, direction=Direction.DOWN)
            set_timeout(term, FAST)
        finally:
            await pos.close()
        pos = open_pos(term)
        try:
            lost = await pos.sale(CUP_PAN, 2000, expiry="3012")
            assert not lost.approved
            # then the host cannot be reached at all: the shop sells offline
            proxy.faults = Faults(refuse=True)
            assert (await pos.sale(VISA_PAN, 3000, expiry="3012")).offline
            status = pos.status()
        finally:
            await pos.close()
        assert len(status["pending_reversals"]) == 1 and status["offline_pending"] == 1
        proxy.faults = Faults()
        report = await doctor(term)  # probes the link, then reports to the host (0820/362)
        assert (report.pending_reversals, report.offline_items) == (1, 1)
        port = host.server.metrics_port
        assert port is not None
        samples = await scrape(port)
    assert value(samples, "possettle_pending_reversals") == 1
    assert value(samples, "possettle_offline_items") == 1


async def test_a_metrics_port_without_telemetry_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    """The host imports no monitor: whoever asks for ``/metrics`` hands it the telemetry."""
    config = HostConfig(db_url=f"sqlite:///{tmp_path / 'ledger.db'}", port=0, metrics_port=0)
    with pytest.raises(ConfigError, match="metrics port 0: serve\\(\\) was given no telemetry"):
        await serve(config, stop=asyncio.Event())
    assert not (tmp_path / "ledger.db").exists()

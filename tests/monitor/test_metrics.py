"""``/metrics``: the exposition parses, carries the fleet's figures, and no label names a card
or a terminal."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy.engine import Engine

from possettle.clock import FixedClock
from possettle.monitor.metrics import CONTENT_TYPE, HostMetrics, render_metrics
from tests.monitor.conftest import Fleet

ACQUIRER = "00010000"
PAN = "6222020000001234567"


def _day(fleet: Fleet) -> list[str]:
    sh = fleet.terminals("shanghai", 3, prefix="8888")  # all-digit TIDs: the hardest to spot
    bj = fleet.terminals("beijing", 2, prefix="BJA1", model="A920", version="020000")
    fleet.request(sh[0], "0200", "00", 5)
    fleet.request(sh[0], "0200", "51", 2)
    fleet.request(sh[1], "0200", "91", 1)
    fleet.request(sh[1], "0500", "00", 1)
    fleet.request(bj[0], "0500", "A0", 1)
    fleet.batch(sh[0], 1, status="open", entry_at=fleet.ago(90))
    fleet.batch(sh[1], 1, status="open", entry_at=fleet.ago(30))
    fleet.batch(sh[2], 1, status="closed", results=(1, 1))
    fleet.batch(bj[0], 1, status="settling", results=(2, 1))
    fleet.report(
        bj[0],
        {
            "ok": False,
            "batch": 1,
            "causes": [["keys.out_of_sync", 0.9, "settle"]],
            "checks": {"keys": "fail"},
            "pending_reversals": 1,
            "offline_items": 2,
        },
    )
    # a cause the catalog does not know and a PAN-looking step stay out of labels
    fleet.report(bj[1], {"ok": False, "causes": [["made.up", 0.5, PAN]], "offline_items": 1})
    fleet.seen([bj[1]], fleet.ago(120))
    return sh + bj


def _families(body: bytes) -> dict[str, list[Sample]]:
    return {f.name: f.samples for f in text_string_to_metric_families(body.decode())}


def _value(samples: list[Sample], **labels: str) -> float:
    found = [s.value for s in samples if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (labels, samples)
    return found[0]


def test_metrics_exposition_has_the_fleet_families(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    _day(fleet)
    fams = _families(render_metrics(engine, acquirer=ACQUIRER, clock=clock))
    assert set(fams) >= {
        "possettle_transactions", "possettle_settlement_batches",
        "possettle_open_batch_age_seconds_max", "possettle_open_batch_age_seconds_avg",
        "possettle_pending_reversals", "possettle_offline_items", "possettle_terminals",
        "possettle_terminals_not_reporting", "possettle_settlement_failures",
    }  # fmt: skip
    tx = fams["possettle_transactions"]
    assert _value(tx, region="shanghai", kind="authorization", rc_class="A") == 5
    assert _value(tx, region="shanghai", kind="authorization", rc_class="B") == 2
    assert _value(tx, region="shanghai", kind="authorization", rc_class="D") == 1
    # the cause each code points at (iso8583/codes.py): what the issuer alert counts
    assert _value(tx, region="shanghai", kind="authorization", rc_cause="issuer.unavailable") == 1
    assert _value(tx, region="shanghai", kind="authorization", rc_class="A", rc_cause="none") == 5
    assert _value(tx, region="beijing", kind="settlement", rc_class="E") == 1
    batches = fams["possettle_settlement_batches"]
    assert _value(batches, region="shanghai", result="open") == 2
    assert _value(batches, region="shanghai", result="balanced") == 1
    assert _value(batches, region="beijing", result="unbalanced") == 1
    assert _value(fams["possettle_open_batch_age_seconds_max"], region="shanghai") == 90 * 60
    assert _value(fams["possettle_open_batch_age_seconds_avg"], region="shanghai") == 60 * 60
    assert _value(fams["possettle_pending_reversals"], region="beijing") == 1
    assert _value(fams["possettle_offline_items"], region="beijing") == 3
    assert _value(fams["possettle_terminals"], region="beijing", model="A920") == 2
    assert _value(fams["possettle_terminals_not_reporting"], region="beijing") == 1
    assert _value(fams["possettle_terminals_not_reporting"], region="shanghai") == 0
    failures = fams["possettle_settlement_failures"]
    assert _value(failures, cause="keys.out_of_sync", group="software", step="settle") == 1
    assert _value(failures, cause="other", group="unknown", step="unknown") == 1
    assert all(s.labels["acquirer"] == ACQUIRER for samples in fams.values() for s in samples)


def test_no_label_value_is_a_tid_or_a_pan(engine: Engine, fleet: Fleet, clock: FixedClock) -> None:
    tids = set(_day(fleet))
    host = HostMetrics()
    host.observe_request("sale", 0.05)
    host.observe_request(sorted(tids)[0], 0.05)  # a caller's mistake must not leak a TID either
    host.observe_upstream("simulator", 0.02)
    body = render_metrics(engine, acquirer=ACQUIRER, clock=clock, host=host)
    values = {v for samples in _families(body).values() for s in samples for v in s.labels.values()}
    assert values
    for value in values:
        assert value not in tids
        assert not re.search(r"\d{12,}", value), value


def test_host_latency_histograms_are_exposed_with_bounded_kinds(engine: Engine) -> None:
    host = HostMetrics()
    host.observe_request("settle", 0.3)
    host.observe_request("bogus-kind", 0.3)
    fams = _families(render_metrics(engine, host=host))
    kinds = {s.labels["kind"] for s in fams["possettle_host_request_seconds"] if "kind" in s.labels}
    assert kinds == {"settle", "other"}
    assert "possettle_upstream_seconds" in fams


def test_each_scrape_reads_the_ledger_afresh(
    engine: Engine, fleet: Fleet, clock: FixedClock
) -> None:
    fleet.terminals("shanghai", 1, prefix="SHA1")
    first = _families(render_metrics(engine, clock=clock))
    fleet.terminals("shanghai", 2, prefix="SHA2")
    second = _families(render_metrics(engine, clock=clock))
    assert _value(first["possettle_terminals"], region="shanghai") == 1
    assert _value(second["possettle_terminals"], region="shanghai") == 3
    assert CONTENT_TYPE.startswith("text/plain")

"""Metrics and alerts on the ledger of a real simulated business day (faults included): the
figures match what happened, and nothing in the exposition or the alerts names a card."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from possettle.clock import FixedClock
from possettle.ledger.engine import create_engine_for
from possettle.monitor.alerts import EngineConfig, evaluate_alerts
from possettle.monitor.metrics import render_metrics
from possettle.sim.day import CUP_PANS, FOREIGN_PANS, run_day


@pytest.mark.slow
async def test_a_real_day_exposes_its_settlements_without_card_data(tmp_path: Path) -> None:
    result = await run_day(terminals=4, per_terminal=12, seed=3, workdir=tmp_path)
    tids = {t.tid for t in result.terminals}
    engine = create_engine_for(f"sqlite:///{tmp_path / 'host.db'}")
    try:
        with engine.connect() as conn:
            now = conn.exec_driver_sql("SELECT max(created_at) FROM requests").scalar_one()
        clock = FixedClock(_aware(now))
        body = render_metrics(engine, clock=clock)
        outcome = evaluate_alerts(engine, clock, EngineConfig())
    finally:
        engine.dispose()
    fams = {f.name: f.samples for f in text_string_to_metric_families(body.decode())}
    results = {s.labels["result"]: s.value for s in fams["possettle_settlement_batches"] if s.value}
    assert results.get("balanced_after_upload", 0) >= 1  # DEMO0003 needed a batch upload
    settled = sum(
        s.value for s in fams["possettle_transactions"] if s.labels.get("kind") == "settlement"
    )
    assert settled >= len(tids)
    text = body.decode()
    for pan in CUP_PANS + FOREIGN_PANS:
        assert pan not in text and pan[:12] not in text
    for samples in fams.values():
        for s in samples:
            for value in s.labels.values():
                assert value not in tids and not re.search(r"\d{12,}", value)
    for alert in outcome.opened:
        assert not re.search(r"\d{12,}", alert.summary_en + alert.summary_zh)


def _aware(text: object) -> datetime:
    # a raw SQL read of a SQLite column gives the stored text
    value = text if isinstance(text, datetime) else datetime.fromisoformat(str(text))
    return value if value.tzinfo else value.replace(tzinfo=UTC)

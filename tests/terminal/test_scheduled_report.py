"""What a scheduled status report says (terminal/scheduled_report.py), on a journal alone."""

from __future__ import annotations

import json
from pathlib import Path

from possettle.status_report import MAX_REPORT, StatusReport
from possettle.terminal.scheduled_report import (
    VERDICT,
    encode,
    keep_verdict,
    scheduled_report,
    standing_verdict,
)
from tests.terminal.harness import make_terminal, open_pos


def test_a_report_too_long_for_field_62_drops_its_least_likely_causes_first() -> None:
    causes = [(f"cause.number_{i:02d}_" + "x" * 20, 0.9 - i / 10, "batch_upload") for i in range(8)]
    checks = {f"area_{i:02d}_" + "y" * 20: "fail" for i in range(8)}
    report = StatusReport(ok=False, batch=999_999, causes=causes, checks=checks)  # type: ignore[arg-type]
    raw = encode(report)
    assert len(report.stored().encode()) > MAX_REPORT >= len(raw)
    kept = StatusReport.parse(raw)
    assert kept.causes == causes[: len(kept.causes)] and kept.causes
    assert kept.checks == checks


async def test_a_fresh_terminal_reports_its_own_figures_and_no_verdict(tmp_path: Path) -> None:
    pos = open_pos(make_terminal(tmp_path / "t", 5000))
    try:
        assert scheduled_report(pos.journal) == StatusReport(
            ok=True, batch=1, pending_reversals=0, offline_items=0
        )
    finally:
        await pos.close()


async def test_a_kept_verdict_that_no_longer_fits_the_contract_is_not_carried(
    tmp_path: Path,
) -> None:
    pos = open_pos(make_terminal(tmp_path / "t", 5000))
    try:
        keep_verdict(pos.journal, json.dumps({"ok": False, "causes": [["x", 0.5, None]]}).encode())
        assert standing_verdict(pos.journal) is not None
        with pos.journal.write("meta") as conn:  # a report from a newer doctor, say
            pos.journal.set_meta(conn, VERDICT, json.dumps({"ok": False, "mood": "grim"}))
        assert standing_verdict(pos.journal) is None
        assert scheduled_report(pos.journal).ok is True
    finally:
        await pos.close()

"""The summary the terminal's doctor sends (0820/362) always fits what the host accepts."""

from __future__ import annotations

from possettle.doctor.catalog import CAUSES
from possettle.doctor.model import AREAS, Check, Diagnosis, Report, Status
from possettle.doctor.run import summary
from possettle.status_report import MAX_REPORT, StatusReport


def test_the_largest_summary_fits_the_host_contract() -> None:
    report = Report(
        terminal="T0000001",
        batch=999_999,
        checks=[Check(area, Status.FAIL, "x", "x") for area in AREAS],
        diagnoses=[Diagnosis(c, 0.999, "batch_upload", []) for c in CAUSES],
        failed=True,
        pending_reversals=12,
        offline_items=345,
    )
    raw = summary(report)
    assert len(raw) <= MAX_REPORT
    parsed = StatusReport.parse(raw)
    assert parsed.ok is False and parsed.batch == 999_999 and parsed.causes
    assert parsed.pending_reversals == 12 and parsed.offline_items == 345


def test_an_empty_summary_fits_too() -> None:
    report = Report("T0000001", None, [], [], failed=False)
    assert StatusReport.parse(summary(report)).ok is True

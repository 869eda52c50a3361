"""The one way the console shows amounts, times, versions and events (console/display.py,
console/data/event_text.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.console.data.event_text import action_text, event_text
from possettle.console.display import Zone, ZoneRejected, amount, version

AT = datetime(2026, 12, 7, 6, 3, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "minor", "currency", "shown"),
    [
        ("zh", 47082, "156", "¥470.82"),
        ("en", 47082, "156", "CNY 470.82"),
        ("zh", 123456789, "156", "¥1,234,567.89"),
        ("en", 5, "156", "CNY 0.05"),
        ("en", 0, "156", "CNY 0.00"),
        ("zh", 999999999999, "156", "¥9,999,999,999.99"),  # never masked like a card number
        ("en", 1500, "392", "JPY 1,500"),  # no minor unit
        ("en", 100, "840", "USD 1.00"),
    ],
)
def test_amounts_from_minor_units(lang: str, minor: int, currency: str, shown: str) -> None:
    assert amount(lang, minor, currency) == shown


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Asia/Shanghai", "2026-12-07 14:03:22 CST (UTC+8)"),
        ("+08:00", "2026-12-07 14:03:22 UTC+8"),
        ("UTC", "2026-12-07 06:03:22 UTC"),
        ("Asia/Kolkata", "2026-12-07 11:33:22 IST (UTC+5:30)"),
        ("America/Sao_Paulo", "2026-12-07 03:03:22 UTC-3"),
    ],
)
def test_times_in_the_display_zone_with_the_zone_named(zone: str, shown: str) -> None:
    assert Zone.named(zone).show(AT) == shown
    assert Zone.named(zone).show(AT.isoformat()) == shown  # API data is ISO 8601 text


def test_a_settlement_after_midnight_in_beijing_is_that_days() -> None:
    late = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)
    assert Zone.named("Asia/Shanghai").day(late).isoformat() == "2026-12-08"


def test_an_unknown_zone_is_refused_in_both_languages() -> None:
    with pytest.raises(ZoneRejected, match=r"unknown time zone 'Mars/Base'.*未知时区"):
        Zone.named("Mars/Base")


def test_the_console_refuses_an_unknown_timezone_before_serving(tmp_path: Path) -> None:
    run = CliRunner().invoke(
        app, ["console", "--db", str(tmp_path / "host.db"), "--timezone", "Mars/Base"]
    )
    assert run.exit_code == 1
    assert "--timezone: unknown time zone 'Mars/Base'" in run.output


@pytest.mark.parametrize(("digits", "shown"), [("010203", "1.2.3"), ("011000", "1.10.0")])
def test_versions_one_way(digits: str, shown: str) -> None:
    assert version(digits) == shown


@pytest.mark.parametrize(
    ("kind", "code", "detail", "en", "zh"),
    [
        ("signon", None, '{"version": "010200"}', "signed on with software 1.2.0",
         "签到成功，软件版本 1.2.0"),
        ("signoff", None, "{}", "signed off", "已签退"),
        ("refused", "58", '{"version": "010200", "min_version": "010203"}',
         "sign-on refused: software 1.2.0 is below the acquirer's minimum 1.2.3",
         "签到被拒：软件版本 1.2.0 低于收单机构要求的最低版本 1.2.3"),
        ("mac_error", "A0", '{"mti": "0200", "stan": "000123"}',
         "message 0200 STAN 000123 failed its MAC check (working keys out of step)",
         "报文 0200（流水号 000123）MAC 校验失败（工作密钥不一致）"),
        ("settle_repeated", None, '{"batch": 2, "stan": "000032"}',
         "settlement of batch 2 sent again (STAN 000032): the try before got no answer "
         "(lost on the line, or the terminal restarted); the host answered again",
         "批次 2 的结算请求再次发送（流水号 000032）：上一次未收到应答（线路丢失或终端重启），"
         "主机已再次应答"),
        ("something_new", None, '{"a": 1, "b": "x"}', "a: 1, b: x", "a: 1, b: x"),
    ],
)  # fmt: skip
def test_events_in_words(kind: str, code: str | None, detail: str, en: str, zh: str) -> None:
    assert event_text(kind, code, detail) == {"en": en, "zh": zh}


def test_console_actions_in_words() -> None:
    found = action_text("terminal.doctor", "alice", '{"ok": false, "causes": ["link.down"]}')
    assert found == {"en": "alice ran the host-side doctor: found link.down",
                     "zh": "alice 执行了主机侧诊断：发现 link.down"}  # fmt: skip
    noted = action_text("alert.acknowledge", "bob", '{"note": "called the ISP"}')
    assert noted["zh"] == "bob 确认了告警（备注：called the ISP）"

"""What the console says, on a ledger whose every figure is known (tests/console/fixed_ledger.py):
amounts in yuan, times in the shop's zone, events in words, charts that say when there is
nothing to draw, a success rate that matches the day's settlements, a recovered settlement
called recovered, Chinese pages in Chinese, and a healthy terminal called healthy."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from possettle.clock import FixedClock
from possettle.console.app import create_app
from possettle.console.auth import add_user
from possettle.ledger.engine import create_engine_for
from possettle.ledger.kinds import ConsoleRole
from possettle.ledger.schema import host_events
from tests.console import fixed_ledger as fx
from tests.console.conftest import PASSWORD, Console
from tests.console.labels import english_words, label_texts


async def _client(url: str, zone: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    engine = create_engine_for(url)
    add_user(engine, "admin", PASSWORD, ConsoleRole.ADMIN, fx.NOW)
    chosen = {"zone": zone} if zone else {}  # by default, the console's own default zone
    app = create_app(engine, clock=FixedClock(fx.NOW), **chosen)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        page = await c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        done = await c.post(
            "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token[1]}
        )
        assert done.status_code == 303
        yield c
    engine.dispose()


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'host.db'}"
    fx.build(url)
    return url


@pytest.fixture
async def shop(ledger: str) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(ledger):
        yield c


def _cells(html: str, table: str) -> list[list[str]]:
    """The text of each body row's cells of ``<table id=table>``."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    body = body.split("<tbody>", 1)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    strip = re.compile(r"<[^>]+>")
    return [[strip.sub(" ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in rows]  # fmt: skip


# ----------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(("lang", "shown"), [("zh", "¥470.82"), ("en", "CNY 470.82")])
async def test_amounts_show_in_yuan_with_the_currency_not_its_number(
    shop: httpx.AsyncClient, lang: str, shown: str
) -> None:
    for path in ("/transactions", "/transactions/1", "/terminals/T0000001"):
        page = (await shop.get(f"{path}?lang={lang}")).text
        assert shown in page, path
        assert "470.82 156" not in page, path
    api = (await shop.get("/api/transactions")).json()["transactions"][0]
    assert (api["amount"], api["currency"]) == (fx.SALE_FEN, "156")  # the API keeps fen


# ----------------------------------------------------------------------------- times


async def test_times_are_the_shops_local_time_with_its_zone(shop: httpx.AsyncClient) -> None:
    page = (await shop.get("/terminals/T0000001?lang=en")).text
    assert "2026-12-07 14:03:22 CST (UTC+8)" in page  # last seen, in Beijing time
    assert "2026-12-07 06:03:22" not in page  # not the UTC wall clock without a zone
    fleet = (await shop.get("/?lang=en")).text
    assert "2026-12-07 14:03:22 CST (UTC+8)" in fleet
    api = (await shop.get("/api/terminals/T0000001")).json()
    assert api["last_seen_at"] == fx.T1_CLOSED.isoformat()  # the API stays ISO 8601 UTC


async def test_the_display_zone_is_one_setting(ledger: str) -> None:
    async for c in _client(ledger, zone="UTC"):
        page = (await c.get("/terminals/T0000001?lang=en")).text
        assert "2026-12-07 06:03:22 UTC" in page and "CST" not in page


# ----------------------------------------------------------------------------- timeline


async def test_timeline_events_read_as_sentences_not_json(shop: httpx.AsyncClient) -> None:
    en = (await shop.get("/terminals/T0000001?lang=en")).text
    zh = (await shop.get("/terminals/T0000001?lang=zh")).text
    assert "signed on with software 1.2.0" in en
    assert "签到成功，软件版本 1.2.0" in zh
    for page in (en, zh):
        timeline = page.split('id="timeline"', 1)[1]
        assert "{&#34;" not in timeline and '{"' not in timeline  # no raw JSON
        assert "010200" not in timeline


# ----------------------------------------------------------------------------- charts


async def test_a_day_without_failures_says_so_instead_of_empty_axes(console: Console) -> None:
    with console.engine.begin() as conn:  # forget the simulated day's power cut
        conn.execute(sa.delete(host_events).where(host_events.c.kind == "settle_repeated"))
    await console.login("viewer")
    api = (await console.client.get("/api/settlements")).json()
    assert api["failures_by_cause"] == {}  # the simulated day settled everywhere
    for lang, words in (("en", "No failures."), ("zh", "无失败。")):
        page = (await console.client.get(f"/settlements?lang={lang}")).text
        assert page.count(words) == 2, lang  # by cause and by group
        assert 'id="chart-cause"' not in page and 'id="chart-group"' not in page
        assert 'id="chart-rate"' in page


async def test_each_success_rate_point_matches_that_days_settlements(
    shop: httpx.AsyncClient,
) -> None:
    api = (await shop.get("/api/settlements")).json()
    page = (await shop.get("/settlements?lang=en")).text
    chart = json.loads(page.split('id="chart-data">', 1)[1].split("</script>", 1)[0])
    assert chart["rate"] == api["success_rate"]
    # T0000004 settled at 00:30 on the 8th in Beijing: that is the 8th's settlement; on the
    # 7th one balanced at once, one failed then balanced, one failed
    assert [(d["day"], d["tried"], d["ok"]) for d in chart["rate"]] == [
        ("2026-12-07", 3, 1), ("2026-12-08", 1, 1),
    ]  # fmt: skip
    figures = [(d["day"], d["tried"], d["ok"], d["recovered"], d["failed"]) for d in chart["rate"]]
    assert figures == [("2026-12-07", 3, 1, 1, 1), ("2026-12-08", 1, 1, 0, 0)]
    for point in chart["rate"]:
        rows = _cells((await shop.get(f"/settlements?day={point['day']}&lang=en")).text,
                      "settlements")  # fmt: skip
        assert len(rows) == point["tried"]
        assert all(r[0].startswith(point["day"]) for r in rows)
        # the day a row is listed under is the day of the local time it shows
        assert all(r[0].split()[1] == point["day"] for r in rows), rows
        ok = [r for r in rows if r[3] in ("balanced", "balanced after upload")]
        assert point["rate"] == round(len(ok) / len(rows), 4)
    daily = _cells(page, "daily")
    assert [r[:5] for r in daily] == [[d, str(t), str(o), str(r), str(f)]
                                      for d, t, o, r, f in figures]  # fmt: skip


# ----------------------------------------------------------------------------- recovered


async def test_a_settlement_that_failed_then_balanced_is_shown_as_recovered(
    shop: httpx.AsyncClient,
) -> None:
    api = (await shop.get("/api/settlements?tid=T0000002")).json()
    [row] = api["settlements"]
    assert (row["result"], row["cause"], row["step"], row["attempts"]) == (
        "recovered", "network.unstable", "settle", 2,
    )  # fmt: skip
    assert api["by_terminal"][0].get("recovered") == 1 and "balanced" not in api["by_terminal"][0]
    en = (await shop.get("/settlements?tid=T0000002&lang=en")).text
    assert "failed, then recovered" in en and "balanced after 2 attempts" in en
    assert "network.unstable" in en  # the failure's cause
    zh = (await shop.get("/settlements?tid=T0000002&lang=zh")).text
    assert "失败后已恢复" in zh and "第 2 次尝试后平账" in zh
    fleet = (await shop.get("/api/fleet?q=T0000002")).json()["terminals"][0]
    assert fleet["last_settlement"]["result"] == "recovered"
    terminal = (await shop.get("/terminals/T0000002?lang=en")).text
    last = terminal.split('id="last-settlement"', 1)[1].split("</dd>", 1)[0]
    assert "failed, then recovered" in last and "balanced after 2 attempts" in last


# ----------------------------------------------------------------------------- healthy


async def test_a_terminal_that_did_not_fail_is_called_healthy(shop: httpx.AsyncClient) -> None:
    api = (await shop.get("/api/terminals/T0000001")).json()
    assert api["diagnosis"]["diagnoses"] == []
    en = (await shop.get("/terminals/T0000001?lang=en")).text
    assert "Nothing found to explain" not in en
    assert "Healthy: its last settlement (batch 1, 2026-12-07 14:03:22 CST (UTC+8)) balanced." in en
    zh = (await shop.get("/terminals/T0000001?lang=zh")).text
    assert "终端正常：最近一次结算（批次 1，2026-12-07 14:03:22 CST (UTC+8)）已平账。" in zh
    assert "未发现可解释" not in zh


# ----------------------------------------------------------------------------- Chinese pages

ZH_PAGES = [
    "/", "/settlements", "/settlements?result=failed", "/transactions", "/transactions/1",
    "/alerts", "/users", "/terminals/T0000001", "/terminals/T0000002", "/terminals/T0000003",
    "/support",
]  # fmt: skip


async def test_every_label_on_a_chinese_page_is_chinese(shop: httpx.AsyncClient) -> None:
    found: dict[str, list[str]] = {}
    for path in ZH_PAGES:
        sep = "&" if "?" in path else "?"
        page = await shop.get(f"{path}{sep}lang=zh")
        assert page.status_code == 200, path
        texts = label_texts(page.text)
        assert texts, path
        if words := english_words(texts):
            found[path] = words
    assert found == {}


async def test_every_label_of_the_simulated_day_in_chinese(console: Console) -> None:
    await console.login("admin")
    found: dict[str, list[str]] = {}
    for path in ("/", "/settlements", "/alerts", "/terminals/DEMO0000", "/transactions/1"):
        page = await console.client.get(f"{path}?lang=zh")
        if words := english_words(label_texts(page.text)):
            found[path] = words
    assert found == {}

"""What operations staff do in the console, in a real browser, on a simulated day's ledger:
log in, open every page, follow a failed settlement to its terminal and its diagnosis,
acknowledge an alert, act on a terminal, switch the language. Every page is screenshotted
(``artifacts/screenshots/``), and any script error or Content-Security-Policy refusal in the
browser fails the test (the vendored htmx and Chart.js must run under the console's CSP).
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from possettle.ledger.engine import create_engine_for
from possettle.ledger.schema import alerts, batches, host_events, terminal_reports, terminals
from tests.browser.conftest import FAILING, Browsing
from tests.console.audit_check import audited
from tests.console.labels import LABELS, english_words

pytestmark = pytest.mark.browser

MASKED = re.compile(r"\b\d{6}\*{3,9}\d{4}\b")
CLEAR_PAN = re.compile(r"(?<![\d*])\d{13,19}(?![\d*])")


def no_clear_pan(text: str) -> None:
    from possettle.cards import luhn_ok

    leaked = [m for m in CLEAR_PAN.findall(text) if luhn_ok(m)]
    assert leaked == [], "a clear card number is on the page"


def test_logging_in_and_every_page_on_a_simulated_day(web: Browsing) -> None:
    page = web.page
    web.go("/")
    expect(page).to_have_url(re.compile(r"/login"))  # no session: the login form
    web.shot("01-login")
    web.login("admin")
    expect(page.locator("header nav")).to_contain_text("Fleet")
    expect(page.locator("header")).to_contain_text("admin")

    # Fleet: the day's four terminals, by merchant and region, with their state
    rows = page.locator("#fleet tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#fleet-groups")).to_contain_text("demo")
    failing = page.locator("#fleet tbody tr", has_text=FAILING)
    batch = web.served.day.failed_batch
    expect(failing.locator("td").last).to_have_text(f"failed #{batch}")  # last settlement
    expect(failing).to_contain_text("network.unstable")  # its last report
    expect(failing.locator("td.pending_reversals")).to_have_text("0")
    expect(failing.locator("td.offline_items")).to_have_text("0")
    # the morning after: the terminals that settled are closed for the day, not silent;
    # the one whose settlement failed still has work on it, so it counts as offline
    expect(failing.locator("span.pill").first).to_have_text("offline")
    closed = page.locator("#fleet tbody tr", has=page.locator("span.pill.closed"))
    expect(closed).to_have_count(3)
    web.shot("02-fleet")
    # the live search (htmx) narrows the list without a page load
    page.locator("input[name=q]").press_sequentially("DEMO0002", delay=20)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("DEMO0002")

    # Settlements: the outcome of each batch, and three charts drawn by Chart.js
    page.click("header nav >> text=Settlements")
    expect(page.locator("h1")).to_have_text("Settlements")
    expect(page.locator("#settlements")).to_contain_text("balanced")
    expect(page.locator("#settlements")).to_contain_text("network.unstable")
    page.wait_for_function(  # Chart.js is deferred: on a busy machine it may not be there yet
        "() => typeof Chart !== 'undefined'"
        " && ['chart-rate', 'chart-cause', 'chart-group'].every(id => Chart.getChart(id))"
    )
    drawn = page.evaluate(
        """['chart-rate', 'chart-cause', 'chart-group'].map(id => {
            const c = Chart.getChart(id);
            return [c.data.labels, c.data.datasets[0].data];
        })"""
    )
    rate, by_cause, by_group = drawn
    api = page.request.get(web.served.url + "/api/settlements").json()
    [today] = api["success_rate"]
    assert rate == [[today["day"]], [today["rate"] * 100]] and today["rate"] < 1
    # DEMO0001's settlement failed on the lossy line (network.unstable); the day before, its
    # power cut mid-settlement was recovered by sending the settlement again (cause not known
    # to the host)
    assert dict(zip(*by_cause, strict=True)) == {"network.unstable": 1, "cause not known": 1}
    assert dict(zip(*by_group, strict=True)) == {"software": 1, "cause not known": 1}
    web.shot("03-settlements")

    # Terminal: facts, diagnosis, and its timeline with masked card numbers only
    web.go("/terminals/DEMO0002")
    expect(page.locator("h1")).to_contain_text("DEMO0002")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("sign")
    assert MASKED.search(timeline.inner_text())
    no_clear_pan(page.content())
    web.shot("04-terminal")

    # Transactions: search by terminal and amount, then one transaction's whole history
    page.click("header nav >> text=Transactions")
    page.fill("form.filters input[name=tid]", "DEMO0002")
    page.click("form.filters button[type=submit]")
    found = page.locator("#transactions tbody tr")
    expect(found.first).to_contain_text("DEMO0002")
    assert found.count() >= 5
    assert MASKED.search(page.locator("#transactions").inner_text())
    web.shot("05-transactions")
    found.first.locator("a").first.click()
    expect(page.locator("#history tbody tr").first).to_be_visible()
    expect(page.locator("h1")).to_contain_text("DEMO0002")
    no_clear_pan(page.content())
    web.shot("06-transaction")

    # Alerts: what the engine opened on the morning after
    page.click("header nav >> text=Alerts")
    open_rows = page.locator("table.grid").first.locator("tbody tr[id^=alert-]")
    assert open_rows.count() >= 1
    web.shot("07-alerts")

    # Users (admin only)
    page.click("header nav >> text=Users")
    expect(page.locator("#users")).to_contain_text("operator")
    web.shot("08-users")

    # the JSON API behind the pages answers the same session, and its docs render
    api = page.request.get(web.served.url + "/api/fleet")
    assert api.ok and len(api.json()["terminals"]) == 4


def test_following_a_failed_settlement_to_its_terminal_and_diagnosis(web: Browsing) -> None:
    page = web.page
    web.login("viewer")
    page.click("header nav >> text=Settlements")
    page.select_option("form.filters select[name=result]", "failed")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"result=failed"))
    failed = page.locator("#settlements tbody tr")
    expect(failed).to_have_count(1)
    row = failed.first
    expect(row).to_contain_text(FAILING)
    expect(row).to_contain_text(str(web.served.day.failed_batch))
    expect(row).to_contain_text("settle")  # the step it failed at
    web.shot("10-settlements-failed")

    row.locator("a", has_text="network.unstable").click()
    expect(page).to_have_url(re.compile(rf"/terminals/{FAILING}#diagnosis$"))
    diagnosis = page.locator("#diagnosis")
    expect(diagnosis).to_be_in_viewport()
    expect(diagnosis).to_contain_text("network.unstable")
    expect(diagnosis).to_contain_text("Check the router or the SIM signal.")  # the remedy
    web.shot("11-terminal-diagnosis")
    # a viewer sees no actions
    expect(page.locator("section.actions")).to_have_count(0)


def test_an_operator_acknowledges_an_alert_with_a_note(web: Browsing) -> None:
    page = web.page
    web.login("operator")
    page.click("header nav >> text=Alerts")
    first = page.locator("table.grid").first.locator("tbody tr[id^=alert-]").first
    alert_id = int((first.get_attribute("id") or "").removeprefix("alert-"))
    first.locator("input[name=note]").fill("called the region's ISP 已联系运营商")
    first.locator("button", has_text="Acknowledge").click()
    row = page.locator(f"#alert-{alert_id}")
    expect(row).to_contain_text("acknowledged")
    expect(row).to_contain_text("operator")
    expect(row).to_contain_text("called the region's ISP 已联系运营商")
    web.shot("12-alert-acknowledged")

    engine = create_engine_for(f"sqlite:///{web.served.ledger}")
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).one()
        assert (stored.status, stored.ack_by) == ("acknowledged", "operator")
        assert stored.ack_at == web.served.clock.now()
        [record] = audited(engine, "alert.acknowledge", f"alert:{alert_id}")  # chain verified
        assert record["actor"] == "operator" and "ISP" in record["detail"]["note"]
    finally:
        engine.dispose()


def test_an_operator_asks_a_terminal_to_sign_on_again_and_disables_it(web: Browsing) -> None:
    page = web.page
    web.login("operator")
    web.go(f"/terminals/{FAILING}")
    page.click("#act-signon")
    expect(page.locator("p.ok[role=status]")).to_contain_text("signon")
    expect(page.locator("dl.facts")).to_contain_text("sign-on requested")
    page.click("#act-disable")
    expect(page.locator("#act-enable")).to_be_visible()
    web.shot("13-terminal-disabled")
    engine = create_engine_for(f"sqlite:///{web.served.ledger}")
    try:
        with engine.connect() as conn:
            status, needs = conn.execute(
                sa.select(terminals.c.status, terminals.c.needs_signon).where(
                    terminals.c.tid == FAILING
                )
            ).one()
        assert (status, needs) == ("disabled", True)
        for action in ("terminal.signon", "terminal.disable"):
            [record] = audited(engine, action, FAILING)
            assert record["actor"] == "operator" and record["at"] == web.served.clock.now()
    finally:
        engine.dispose()


def test_switching_the_language_and_the_browsers_own(web: Browsing, web_zh: Browsing) -> None:
    page = web.page
    web.login("admin")
    expect(page.locator("header nav")).to_contain_text("Settlements")
    page.click("#lang-switch")
    expect(page.locator("header nav")).to_contain_text("结算")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    web.shot("20-fleet-zh")
    # the choice is remembered on the next page
    page.click("header nav >> text=结算")
    expect(page.locator("h1")).to_have_text("结算")
    web.go(f"/terminals/{FAILING}")
    expect(page.locator("#diagnosis")).to_contain_text("检查路由器或 SIM 卡信号。")
    web.shot("21-terminal-zh")
    page.click("#lang-switch")
    expect(page.locator("header nav")).to_contain_text("Settlements")

    # a browser set to Chinese gets Chinese from the first page, the login form included
    zh = web_zh.page
    web_zh.go("/login")
    expect(zh.locator("h1")).to_have_text("登录")
    web_zh.shot("22-login-zh")
    web_zh.login("viewer")
    expect(zh.locator("header nav")).to_contain_text("告警")
    zh.click("header nav >> text=告警")
    web_zh.shot("23-alerts-zh")


# ----------------------------------------------------------------------------- what pages say

# data the pages show inside labels' reach: the demo merchant's name and region
DATA_WORDS = frozenset({"demo", "shop"})
AMOUNT_EN = re.compile(r"^CNY \d{1,3}(,\d{3})*\.\d{2}$")
AMOUNT_ZH = re.compile(r"^¥\d{1,3}(,\d{3})*\.\d{2}$")
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} CST \(UTC\+8\)$")


def test_amounts_in_yuan_and_times_in_the_shops_zone(web: Browsing) -> None:
    page = web.page
    web.login("viewer")
    for lang, shape in (("en", AMOUNT_EN), ("zh", AMOUNT_ZH)):
        web.go(f"/transactions?tid=DEMO0002&lang={lang}")
        amounts = page.locator("#transactions tbody td.num").all_inner_texts()
        assert amounts and all(shape.match(a.strip()) for a in amounts), amounts
        times = page.locator("#transactions tbody tr td:first-child").all_inner_texts()
        assert times and all(LOCAL_TIME.match(x.strip()) for x in times), times
    web.shot("30-transactions-yuan-zh")
    web.go("/terminals/DEMO0002?lang=en")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("signed on with software 1.2.0")
    text = timeline.inner_text()
    assert '{"' not in text and " 156" not in text  # no raw JSON, no currency number
    expect(page.locator("#timeline tbody tr td").first).to_have_text(LOCAL_TIME)


def test_a_day_without_failures_says_so_instead_of_empty_charts(web: Browsing) -> None:
    page = web.page
    # the failing terminal's report is withdrawn, its batch reopened and its power cut of the
    # day before forgotten: a day without failures
    engine = create_engine_for(f"sqlite:///{web.served.ledger}")
    try:
        with engine.begin() as conn:
            conn.execute(sa.delete(host_events).where(host_events.c.kind == "settle_repeated"))
            conn.execute(sa.delete(terminal_reports).where(terminal_reports.c.tid == FAILING))
            conn.execute(
                sa.update(batches)
                .where(batches.c.tid == FAILING, batches.c.status == "settling")
                .values(status="open", settle_requested_at=None)
            )
    finally:
        engine.dispose()
    web.login("viewer")
    for lang, words in (("en", "No failures."), ("zh", "无失败。")):
        web.go(f"/settlements?lang={lang}")
        expect(page.locator("#fig-cause p.empty")).to_have_text(words)
        expect(page.locator("#fig-group p.empty")).to_have_text(words)
        page.wait_for_function("() => typeof Chart !== 'undefined' && Chart.getChart('chart-rate')")
        assert page.evaluate("[Chart.getChart('chart-cause'), Chart.getChart('chart-group')]") == [
            None, None,
        ]  # fmt: skip
    web.shot("31-settlements-no-failures-zh")


def test_the_rate_point_is_the_figures_of_the_days_settlements(web: Browsing) -> None:
    page = web.page
    web.login("viewer")
    web.go("/settlements")
    page.wait_for_function("() => typeof Chart !== 'undefined' && Chart.getChart('chart-rate')")
    labels, points = page.evaluate(
        "(() => { const c = Chart.getChart('chart-rate');"
        " return [c.data.labels, c.data.datasets[0].data]; })()"
    )
    daily = [r.split("\t") for r in page.locator("#daily tbody tr").all_inner_texts()]
    assert [d[0] for d in daily] == labels
    for day, point in zip(daily, points, strict=True):
        web.go(f"/settlements?day={day[0]}")
        results = page.locator("#settlements tbody td:nth-child(4) span.pill").all_inner_texts()
        ok = [r for r in results if r in ("balanced", "balanced after upload")]
        assert int(day[1]) == len(results) and int(day[2]) == len(ok)
        assert point == round(len(ok) / len(results), 4) * 100
        web.go("/settlements")


def test_a_recovered_settlement_says_failed_then_recovered(web_recovered: Browsing) -> None:
    web = web_recovered
    page = web.page
    web.login("viewer")
    failing = page.locator("#fleet tbody tr", has_text=FAILING)
    expect(failing.locator("td").last).to_contain_text("failed, then recovered")
    web.go(f"/settlements?tid={FAILING}")
    batch = re.compile(rf"^{web.served.day.failed_batch}$")
    row = page.locator("#settlements tbody tr").filter(
        has=page.locator("td:nth-child(3)", has_text=batch)
    )
    expect(row).to_have_count(1)
    expect(row).to_contain_text("failed, then recovered")
    expect(row).to_contain_text("balanced after 2 attempts")
    expect(row).to_contain_text("network.unstable")  # the failure's cause
    web.shot("32-settlements-recovered")
    web.go(f"/terminals/{FAILING}")
    expect(page.locator("#last-settlement")).to_contain_text("balanced after 2 attempts")
    expect(page.locator("#timeline")).to_contain_text("sent again")
    web.go(f"/terminals/{FAILING}?lang=zh")
    expect(page.locator("#last-settlement")).to_contain_text("失败后已恢复")
    web.shot("33-terminal-recovered-zh")


def test_a_healthy_terminal_is_called_healthy(web: Browsing) -> None:
    page = web.page
    web.login("viewer")
    web.go("/terminals/DEMO0002")
    health = page.locator("#health")
    expect(health).to_contain_text("Healthy: its last settlement (batch 1,")
    expect(page.locator("#diagnosis")).not_to_contain_text("Nothing found to explain")
    web.go("/terminals/DEMO0002?lang=zh")
    expect(health).to_contain_text("终端正常")
    web.shot("34-terminal-healthy-zh")


def test_every_label_on_every_chinese_page_is_chinese(web_zh: Browsing) -> None:
    page = web_zh.page
    web_zh.login("admin")
    found: dict[str, list[str]] = {}
    for path in ("/", "/settlements", "/transactions", "/transactions/1", "/alerts", "/users",
                 f"/terminals/{FAILING}", "/terminals/DEMO0002", "/support"):  # fmt: skip
        web_zh.go(path)
        texts = page.locator(LABELS).all_inner_texts()
        assert texts, path
        if words := english_words(texts, DATA_WORDS):
            found[path] = words
    assert found == {}

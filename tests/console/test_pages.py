"""Every page renders for every role in both languages, on a simulated business day."""

from __future__ import annotations

import pytest

from tests.console.conftest import ROLES, Console

PAGES = [
    "/",
    "/settlements",
    "/transactions",
    "/transactions?tid=DEMO0001",
    "/transactions/1",
    "/alerts",
    "/terminals/DEMO0000",
    "/terminals/DEMO0001",
    "/support",
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("lang", "word"), [("en", "Fleet"), ("zh", "终端总览")])
async def test_every_page_renders_for_each_role_and_language(
    console: Console, role: str, lang: str, word: str
) -> None:
    assert await console.login(role) == 303
    for path in PAGES:
        sep = "&" if "?" in path else "?"
        page = await console.client.get(f"{path}{sep}lang={lang}")
        assert page.status_code == 200, (path, page.text[:500])
        assert word in page.text, path
        assert page.headers["x-frame-options"] == "DENY"


async def test_the_language_follows_the_browser_then_sticks_once_chosen(console: Console) -> None:
    await console.login("viewer")
    page = await console.client.get("/", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert "终端总览" in page.text
    await console.client.get("/?lang=en")  # remembered in a cookie
    page = await console.client.get("/", headers={"accept-language": "zh-CN"})
    assert "Fleet" in page.text and "终端总览" not in page.text


async def test_the_fleet_lists_every_terminal_and_filters_by_search(console: Console) -> None:
    await console.login("viewer")
    page = await console.client.get("/")
    for tid in ("DEMO0000", "DEMO0001", "DEMO0002"):
        assert f"/terminals/{tid}" in page.text
    only = await console.client.get("/?q=demo0002")
    assert "/terminals/DEMO0002" in only.text and "/terminals/DEMO0001" not in only.text
    rows = await console.client.get("/?status=online", headers={"hx-request": "true"})
    assert rows.text.lstrip().startswith("<table")  # htmx gets the table alone


async def test_only_admins_see_user_management(console: Console) -> None:
    for role, status in (("viewer", 403), ("operator", 403), ("admin", 200)):
        console.client.cookies.clear()
        await console.login(role)
        assert (await console.client.get("/users")).status_code == status, role


async def test_viewers_get_no_action_buttons_operators_do(console: Console) -> None:
    await console.login("viewer")
    assert 'id="act-signon"' not in (await console.client.get("/terminals/DEMO0001")).text
    console.client.cookies.clear()
    await console.login("operator")
    assert 'id="act-signon"' in (await console.client.get("/terminals/DEMO0001")).text


async def test_an_unknown_terminal_is_a_404_page(console: Console) -> None:
    await console.login("viewer")
    page = await console.client.get("/terminals/NOSUCH01")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]


async def test_an_admin_adds_a_user_who_can_then_log_in(console: Console) -> None:
    await console.login("admin")
    token = await console.csrf("/users")
    done = await console.client.post(
        "/users",
        data={"csrf_token": token, "username": "night-shift", "password": "long enough 9",
              "role": "operator"},
    )  # fmt: skip
    assert done.status_code == 303
    page = await console.client.get("/users")
    assert "night-shift" in page.text and "long enough 9" not in page.text
    console.client.cookies.clear()
    assert await console.login("night-shift", "long enough 9") == 303


async def test_an_operator_cannot_add_users(console: Console) -> None:
    await console.login("operator")
    token = await console.csrf("/")
    done = await console.client.post(
        "/users",
        data={"csrf_token": token, "username": "x1", "password": "long enough 9", "role": "admin"},
    )
    assert done.status_code == 403


async def test_the_terminal_timeline_reads_in_chinese(console: Console) -> None:
    await console.login("viewer")
    page = await console.client.get("/terminals/DEMO0000?lang=zh")
    assert "消费" in page.text and "签到" in page.text and "批次关闭" in page.text


async def test_the_vendored_scripts_are_served_with_their_licence_headers(
    console: Console,
) -> None:
    htmx = await console.client.get("/static/htmx.min.js")
    chart = await console.client.get("/static/chart.umd.min.js")
    assert htmx.status_code == chart.status_code == 200
    assert htmx.text.startswith("/*! htmx 2.0.11") and "0BSD" in htmx.text[:200]
    assert chart.text.startswith("/*!\n * Chart.js v4") and "MIT License" in chart.text[:200]
    page = await console.client.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]

"""Logging in and out, lock-out after repeated failures, sessions that expire, login CSRF."""

from __future__ import annotations

import re

import httpx
import sqlalchemy as sa

from possettle.ledger.schema import console_sessions
from tests.console.conftest import Console


async def test_a_page_without_a_session_redirects_to_the_login_form(console: Console) -> None:
    page = await console.client.get("/settlements")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/settlements"
    assert (await console.client.get("/api/fleet")).status_code == 401


async def test_login_sets_a_hardened_cookie_and_logout_ends_the_session(console: Console) -> None:
    page = await console.client.get("/login")
    assert page.status_code == 200
    assert await console.login("viewer") == 303
    assert (await console.client.get("/")).status_code == 200
    token = await console.csrf("/")
    with console.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(console_sessions)).scalar() == 1
    done = await console.client.post("/logout", data={"csrf_token": token})
    assert done.status_code == 303
    with console.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(console_sessions)).scalar() == 0
    assert (await console.client.get("/")).status_code == 303


async def test_the_session_cookie_is_httponly_and_samesite_lax(console: Console) -> None:
    page = await console.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    done = await console.client.post(
        "/login", data={"username": "viewer", "password": "correct horse 1",
                        "csrf_token": token.group(1)},
    )  # fmt: skip
    cookies = done.headers.get_list("set-cookie")
    cookie = next(v for v in cookies if v.startswith("possettle_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # secure_cookies=False in tests (plain http)


async def test_a_wrong_password_is_refused_without_saying_which_part(console: Console) -> None:
    assert await console.login("viewer", "wrong password") == 401
    assert await console.login("nobody", "wrong password") == 401


async def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(console: Console) -> None:
    for _ in range(4):
        assert await console.login("operator", "wrong password") == 401
    assert await console.login("operator", "wrong password") == 429  # the fifth locks
    assert await console.login("operator") == 429  # even the right password now
    console.clock.advance(14 * 60)
    assert await console.login("operator") == 429
    console.clock.advance(61)
    assert await console.login("operator") == 303


async def test_an_expired_session_sends_the_user_back_to_login(console: Console) -> None:
    await console.login("viewer")
    assert (await console.client.get("/")).status_code == 200
    console.clock.advance(8 * 3600 + 1)
    page = await console.client.get("/")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")


async def test_a_login_post_without_the_form_token_is_refused(console: Console) -> None:
    done = await console.client.post(
        "/login", data={"username": "viewer", "password": "correct horse 1"}
    )
    assert done.status_code == 403


async def test_login_never_redirects_to_another_site(console: Console) -> None:
    page = await console.client.get("/login?next=//evil.example/x")
    assert "evil.example" not in page.text


async def test_behind_tls_the_session_cookie_is_secure(console: Console) -> None:
    console.app.state.console.secure_cookies = True
    transport = httpx.ASGITransport(app=console.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as tls:
        page = await tls.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        done = await tls.post(
            "/login", data={"username": "viewer", "password": "correct horse 1",
                            "csrf_token": token.group(1)},
        )  # fmt: skip
    assert done.status_code == 303
    cookie = next(v for v in done.headers.get_list("set-cookie") if "possettle_session=" in v)
    assert "Secure" in cookie and "HttpOnly" in cookie

"""The Support desk: the page, the JSON API and its tickets, on a fake engine (support_fake.py).

What a support person relies on: a case becomes a ticket with who handled it and when; each
answer and photo re-ranks and is kept with the ranking it led to; a TID of ours lets our data
answer (the engine is handed the ledger); every change is audited; bad input is a clear 4xx,
never a 500; nobody without a session, the role or the CSRF token changes a ticket.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from possettle.catalogs import Text
from possettle.clock import Clock, FixedClock
from possettle.console.app import create_app
from possettle.console.auth import add_user
from possettle.console.desk import PHOTO_LIMIT
from possettle.ledger.engine import create_engine_for
from possettle.ledger.kinds import ConsoleRole
from possettle.ledger.schema import support_tickets, terminals
from possettle.sim.day import CUP_PANS
from possettle.support.case import Case
from possettle.support.result import Result
from tests.console.audit_check import audited
from tests.console.conftest import PASSWORD, ROLES, Console
from tests.console.labels import english_words, label_texts
from tests.console.support_fake import FakeEngine, fake_desk, photo, screen_photo

SCREEN = "冲正不成功 请与客服联系"
T0 = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


@dataclass
class Desk(Console):
    fake: FakeEngine


@pytest.fixture
async def desk(day_db: Path, tmp_path: Path) -> AsyncIterator[Desk]:
    copy = tmp_path / "host.db"
    shutil.copy(day_db, copy)
    engine = create_engine_for(f"sqlite:///{copy}")
    with engine.connect() as conn:
        seen = conn.execute(sa.select(sa.func.max(terminals.c.last_seen_at))).scalar_one()
    clock = FixedClock(seen + timedelta(minutes=1))
    for role in ROLES:
        add_user(engine, role, PASSWORD, ConsoleRole(role), clock.now())
    fake = FakeEngine()
    app = create_app(engine, clock=clock, desk=fake_desk(fake))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Desk(client, engine, clock, app, fake)
    engine.dispose()


async def _operator(desk: Desk) -> dict[str, str]:
    assert await desk.login("operator") == 303
    return {"X-CSRF-Token": await desk.csrf("/support")}


def _our_tid(desk: Desk) -> str:
    with desk.engine.connect() as conn:
        return str(conn.execute(sa.select(sa.func.min(terminals.c.tid))).scalar_one())


def _rows(desk: Desk) -> int:
    with desk.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(support_tickets)).scalar())


async def _start(desk: Desk, headers: dict[str, str], **case: Any) -> dict[str, Any]:
    done = await desk.client.post("/api/support/tickets", json=case, headers=headers)
    assert done.status_code == 201, done.text
    found: dict[str, Any] = done.json()
    return found


async def test_a_case_becomes_an_open_ticket_with_who_when_and_the_first_ranking(
    desk: Desk,
) -> None:
    headers = await _operator(desk)
    ticket = await _start(desk, headers, screen=SCREEN, code="a0", acquirer="lakala",
                          model="PAX S90", tid="x1234567")  # fmt: skip
    assert ticket["status"] == "open" and ticket["created_by"] == "operator"
    assert ticket["created_at"] == desk.clock.now().isoformat() == ticket["updated_at"]
    assert (ticket["code"], ticket["tid"], ticket["ours"]) == ("A0", "X1234567", False)
    top = ticket["result"]["causes"][0]
    assert top["cause"] == "keys.out_of_sync" == ticket["cause"]
    [step] = ticket["steps"]
    assert step["event"] == "create" and step["top"][0] == {"cause": top["cause"],
                                                           "score": top["score"]}  # fmt: skip
    assert step["next_question"] == "slip_printed"
    case = desk.fake.cases[-1]
    assert (case.screen, case.code, case.acquirer, case.host_db) == (SCREEN, "A0", "lakala", None)
    [record] = audited(desk.engine, "support.create", f"ticket:{ticket['id']}")
    assert record["actor"] == "operator" and record["detail"]["top"][0][0] == "keys.out_of_sync"
    listed = (await desk.client.get("/api/support/tickets?status=open")).json()["tickets"]
    assert [t["id"] for t in listed] == [ticket["id"]]


async def test_each_answer_reranks_and_is_kept_with_the_ranking_it_led_to(desk: Desk) -> None:
    headers = await _operator(desk)
    ticket = await _start(desk, headers, screen=SCREEN)
    first = ticket["result"]["causes"][0]["cause"]
    path = f"/api/support/tickets/{ticket['id']}"
    desk.clock.advance(120)
    after = (
        await desk.client.post(f"{path}/answers", headers=headers,
                               json={"question": "slip_printed", "answer": "balanced"})
    ).json()  # fmt: skip
    assert first == "reversal.abandoned" and after["cause"] == "printer.paper_out"
    assert after["answers"] == {"slip_printed": "balanced"}
    assert after["updated_at"] == desk.clock.now().isoformat() != after["created_at"]
    assert [s["event"] for s in after["steps"]] == ["create", "answer"]
    assert after["steps"][1]["answer"] == {"question": "slip_printed", "answer": "balanced"}
    assert after["steps"][1]["top"][0]["cause"] == "printer.paper_out"
    assert after["result"]["stop"] == "confident" and after["result"]["next_question"] is None
    assert desk.fake.cases[-1].answers == {"slip_printed": "balanced"}
    [record] = audited(desk.engine, "support.answer", f"ticket:{ticket['id']}")
    assert record["detail"]["question"] == "slip_printed"


async def test_dont_know_is_an_answer_on_every_question(desk: Desk) -> None:
    headers = await _operator(desk)
    ticket = await _start(desk, headers)
    path = f"/api/support/tickets/{ticket['id']}/answers"
    unknown = {"question": "slip_printed", "answer": "unknown"}
    done = await desk.client.post(path, headers=headers, json=unknown)
    assert done.status_code == 200
    assert done.json()["result"]["next_question"]["id"] == "others_work"


async def test_a_photo_is_read_once_kept_as_text_and_hash_and_reranks(desk: Desk) -> None:
    headers = await _operator(desk)
    ticket = await _start(desk, headers, code="A0")
    path = f"/api/support/tickets/{ticket['id']}"
    image = photo(f"{SCREEN} 卡号 {CUP_PANS[0]}")
    done = await desk.client.post(f"{path}/photo", headers=headers,
                                  files={"photo": ("screen.jpg", image, "image/jpeg")})  # fmt: skip
    assert done.status_code == 200, done.text
    after = done.json()
    assert after["photo"]["bytes"] == len(image) and len(after["photo"]["sha256"]) == 64
    assert SCREEN in after["photo"]["text"] and CUP_PANS[0] not in after["photo"]["text"]
    assert after["steps"][-1]["event"] == "photo"
    # the engine was handed what the photo says, and keeps it at every later step
    assert SCREEN in (desk.fake.cases[-1].screen or "")
    await desk.client.post(f"{path}/answers", headers=headers,
                           json={"question": "slip_printed", "answer": "no"})  # fmt: skip
    assert SCREEN in (desk.fake.cases[-1].screen or "")
    [record] = audited(desk.engine, "support.photo", f"ticket:{ticket['id']}")
    assert record["detail"]["photo_sha256"] == after["photo"]["sha256"]
    with desk.engine.connect() as conn:
        stored = conn.execute(sa.select(support_tickets)).one()._mapping
    assert all(not isinstance(v, bytes) for v in stored.values())  # no image in the ledger


async def test_a_photo_over_the_limit_is_refused_before_it_is_read(desk: Desk) -> None:
    headers = await _operator(desk)
    ticket = await _start(desk, headers)
    big = photo("x" * (PHOTO_LIMIT + 100_000))
    done = await desk.client.post(f"/api/support/tickets/{ticket['id']}/photo", headers=headers,
                                  files={"photo": ("big.jpg", big, "image/jpeg")})  # fmt: skip
    assert done.status_code == 413 and "10 MB" in done.json()["detail"]
    assert len(desk.fake.cases) == 1  # never diagnosed
    # a little under the body cap but over the photo limit: the desk refuses it too
    almost = photo("x" * (PHOTO_LIMIT + 10))
    done = await desk.client.post(f"/api/support/tickets/{ticket['id']}/photo", headers=headers,
                                  files={"photo": ("big.jpg", almost, "image/jpeg")})  # fmt: skip
    assert done.status_code == 422 and "photo" in done.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"acquirer": "nosuch"}, "acquirer"),
        ({"code": "A0;DROP"}, "code"),
        ({"tid": "T-1 OR 1"}, "tid"),
        ({"screen": "x" * 600}, "screen"),
        ({"model": "m" * 41}, "model"),
    ],
)
async def test_bad_case_fields_are_a_422_that_names_the_field(
    desk: Desk, body: dict[str, str], field: str
) -> None:
    headers = await _operator(desk)
    done = await desk.client.post("/api/support/tickets", json=body, headers=headers)
    assert done.status_code == 422 and field in done.json()["detail"], done.text
    assert _rows(desk) == 0


async def test_bad_answers_photos_and_tickets_are_4xx_never_500(desk: Desk) -> None:
    headers = await _operator(desk)
    ticket = await _start(desk, headers)
    path = f"/api/support/tickets/{ticket['id']}"
    cases = [
        ("post", f"{path}/answers", {"json": {"question": "nosuch", "answer": "yes"}}, 422),
        ("post", f"{path}/answers", {"json": {"question": "slip_printed", "answer": "x"}}, 422),
        ("post", f"{path}/answers", {"json": {"question": "slip_printed"}}, 422),
        ("post", f"{path}/answers", {"content": b"not json"}, 422),
        ("post", f"{path}/photo", {"files": {"photo": ("a.jpg", b"GIF89a", "image/gif")}}, 422),
        ("post", f"{path}/photo", {"files": {"photo": ("a.jpg", b"", "image/jpeg")}}, 422),
        ("post", f"{path}/photo", {}, 422),
        ("get", "/api/support/tickets/999", {}, 404),
        ("post", "/api/support/tickets/999/answers",
         {"json": {"question": "slip_printed", "answer": "no"}}, 404),
        ("get", "/api/support/tickets/abc", {}, 422),
        ("get", "/api/support/tickets?status=pending", {}, 422),
        ("get", "/api/support/tickets?limit=0", {}, 422),
    ]  # fmt: skip
    for method, url, kwargs, status in cases:
        done = await desk.client.request(method, url, headers=headers, **kwargs)
        assert done.status_code == status, (url, kwargs, done.status_code, done.text)
        assert done.json()["detail"], (url, done.text)
    assert len((await desk.client.get(path)).json()["steps"]) == 1


async def test_closing_keeps_the_final_cause_and_a_closed_ticket_takes_no_more(
    desk: Desk,
) -> None:
    headers = await _operator(desk)
    ticket = await _start(desk, headers, code="A0")
    path = f"/api/support/tickets/{ticket['id']}"
    closed = (await desk.client.post(f"{path}/close", headers=headers)).json()
    assert closed["status"] == "closed" and closed["cause"] == "keys.out_of_sync"
    assert closed["closed_at"] == desk.clock.now().isoformat()
    again = await desk.client.post(f"{path}/answers", headers=headers,
                                   json={"question": "slip_printed", "answer": "no"})  # fmt: skip
    assert again.status_code == 409
    assert (await desk.client.post(f"{path}/close", headers=headers)).status_code == 409
    [record] = audited(desk.engine, "support.close", f"ticket:{ticket['id']}")
    assert record["detail"] == {"cause": "keys.out_of_sync"}


async def test_nobody_without_session_role_or_csrf_creates_or_changes_a_ticket(
    desk: Desk,
) -> None:
    headers = await _operator(desk)
    ticket = await _start(desk, headers)
    path = f"/api/support/tickets/{ticket['id']}"
    answer = {"question": "slip_printed", "answer": "no"}
    # the operator without the CSRF token
    assert (await desk.client.post("/api/support/tickets", json={})).status_code == 403
    assert (await desk.client.post(f"{path}/answers", json=answer)).status_code == 403
    assert (await desk.client.post(f"{path}/close")).status_code == 403
    # a viewer reads, but may not act
    await desk.client.post("/logout", data={"csrf_token": headers["X-CSRF-Token"]})
    assert await desk.login("viewer") == 303
    viewer = {"X-CSRF-Token": await desk.csrf("/support")}
    assert (await desk.client.get(path)).status_code == 200
    assert "start-case" not in (await desk.client.get("/support")).text
    done = await desk.client.post("/api/support/tickets", json={}, headers=viewer)
    assert done.status_code == 403
    assert (
        await desk.client.post(f"{path}/answers", json=answer, headers=viewer)
    ).status_code == 403
    # no session at all
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=desk.app),
                                  base_url="http://testserver")  # fmt: skip
    async with anonymous:
        assert (await anonymous.post("/api/support/tickets", json={})).status_code == 401
        assert (await anonymous.post(f"{path}/answers", json=answer)).status_code == 401
        files = {"photo": ("a.jpg", photo("x"), "image/jpeg")}
        assert (await anonymous.post(f"{path}/photo", files=files)).status_code == 401
        assert (await anonymous.get("/api/support/tickets")).status_code == 401
        page = await anonymous.get("/support")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert _rows(desk) == 1
    assert len((await desk.client.get(path)).json()["steps"]) == 1


async def test_our_terminal_hands_the_ledger_to_the_engine_and_links_both_ways(
    desk: Desk,
) -> None:
    headers = await _operator(desk)
    tid = _our_tid(desk)
    ticket = await _start(desk, headers, tid=tid.lower(), screen=SCREEN)
    assert ticket["ours"] is True
    case = desk.fake.cases[-1]
    assert case.tid == tid and case.host_db is not None
    assert case.host_db == desk.engine.url.render_as_string(hide_password=False)
    page = (await desk.client.get(f"/support/{ticket['id']}")).text
    assert f'href="/terminals/{tid}"' in page
    terminal_page = (await desk.client.get(f"/terminals/{tid}")).text
    assert f'href="/support/{ticket["id"]}"' in terminal_page
    assert (await desk.client.get(f"/api/support/tickets?tid={tid}")).json()["tickets"][0][
        "id"
    ] == ticket["id"]


async def test_the_page_starts_a_case_and_htmx_swaps_in_the_next_step(desk: Desk) -> None:
    await _operator(desk)
    page = await desk.client.get("/support?lang=en")
    assert page.status_code == 200 and 'href="/support"' in page.text
    assert 'value="lakala"' in page.text and "Start a case" in page.text
    token = await desk.csrf("/support")
    done = await desk.client.post(
        "/support", data={"csrf_token": token, "screen": SCREEN, "acquirer": "cup"},
        files={"photo": ("s.jpg", photo("RC=A0"), "image/jpeg")},
    )  # fmt: skip
    assert done.status_code == 303
    where = done.headers["location"]
    assert re.fullmatch(r"/support/\d+", where)
    ticket = (
        await desk.client.get(f"/api/{where[1:].replace('support', 'support/tickets')}")
    ).json()
    assert ticket["photo"]["text"] == "RC=A0" and ticket["acquirer"] == "cup"
    shown = (await desk.client.get(where)).text
    assert 'data-question="slip_printed"' in shown and 'data-answer="unknown"' in shown
    assert "Don&#39;t know" in shown or "Don't know" in shown
    assert "What NOT to do" in shown and "RC=A0" in shown
    step = await desk.client.post(
        f"{where}/answer", headers={"HX-Request": "true"},
        data={"csrf_token": token, "question": "slip_printed", "answer": "balanced"},
    )  # fmt: skip
    assert step.status_code == 200
    assert step.text.lstrip().startswith("{#") or step.text.lstrip().startswith(
        '<div id="interview"'
    )
    assert "<html" not in step.text and 'data-cause="printer.paper_out"' in step.text
    plain = await desk.client.post(
        f"{where}/answer", data={"csrf_token": token, "question": "others_work", "answer": "no"}
    )
    assert plain.status_code == 303 and plain.headers["location"] == where


async def test_the_page_speaks_chinese_and_english(desk: Desk) -> None:
    headers = await _operator(desk)
    ticket = await _start(desk, headers, screen=SCREEN)
    zh = (await desk.client.get(f"/support/{ticket['id']}?lang=zh")).text
    assert "可能的原因" in zh and "切勿这样做" in zh and "结算单打出来了吗" in zh
    assert "不知道" in zh and "客服诊断台" in zh
    en = (await desk.client.get(f"/support/{ticket['id']}?lang=en")).text
    assert "Likely causes" in en and "Did a settlement slip print?" in en


async def test_a_page_form_with_bad_input_says_what_without_echoing_it(desk: Desk) -> None:
    await _operator(desk)
    token = await desk.csrf("/support")
    done = await desk.client.post(
        "/support", data={"csrf_token": token, "code": CUP_PANS[0][:3] + "x", "tid": CUP_PANS[0]}
    )
    assert done.status_code == 422 and "code" in done.text
    assert CUP_PANS[0] not in done.text and _rows(desk) == 0


async def test_a_card_number_typed_as_screen_text_is_stored_and_shown_masked(desk: Desk) -> None:
    headers = await _operator(desk)
    ticket = await _start(desk, headers, screen=f"卡号 {CUP_PANS[1]} 交易失败")
    assert CUP_PANS[1] not in ticket["screen"] and CUP_PANS[1] not in str(desk.fake.cases[-1])
    for path in (f"/support/{ticket['id']}", "/support", f"/api/support/tickets/{ticket['id']}"):
        assert CUP_PANS[1] not in (await desk.client.get(path)).text


async def test_no_label_on_the_chinese_support_pages_is_left_in_english(desk: Desk) -> None:
    headers = await _operator(desk)
    tid = _our_tid(desk)
    ticket = await _start(desk, headers, screen=SCREEN, code="A0", acquirer="lakala", tid=tid)
    path = f"/api/support/tickets/{ticket['id']}"
    files = {"photo": ("s.png", photo("请与客服联系"), "image/png")}
    await desk.client.post(f"{path}/photo", headers=headers, files=files)
    await desk.client.post(f"{path}/close", headers=headers)
    found: dict[str, list[str]] = {}
    for page in ("/support", f"/support/{ticket['id']}", f"/terminals/{tid}"):
        texts = label_texts((await desk.client.get(f"{page}?lang=zh")).text)
        assert texts and english_words(label_texts((await desk.client.get(f"{page}?lang=en")).text))
        if words := english_words(texts, frozenset({"operator"})):
            found[page] = words
    assert found == {}


async def test_a_real_photo_is_read_with_tesseract_and_garbage_is_a_422(desk: Desk) -> None:
    """The reading branch's OCR behind the desk: a rendered screen photo is read back, and
    bytes that are no image are refused with a 422, not a 500."""
    desk.app.state.console.desk = fake_desk(desk.fake, real_ocr=True)
    headers = await _operator(desk)
    ticket = await _start(desk, headers)
    path = f"/api/support/tickets/{ticket['id']}/photo"
    image = screen_photo(SCREEN)
    done = await desk.client.post(
        path, headers=headers, files={"photo": ("s.jpg", image, "image/jpeg")}
    )
    assert done.status_code == 200, done.text
    read = done.json()["photo"]["text"]
    assert "冲正不成功" in read.replace(" ", "") and "客服" in read
    assert done.json()["cause"] == "reversal.abandoned"  # the fake ranks what the photo said
    files = {"photo": ("s.jpg", b"not an image", "image/jpeg")}
    junk = await desk.client.post(path, headers=headers, files=files)
    assert junk.status_code == 422 and "photo" in junk.json()["detail"].lower()


def test_the_ledgers_password_never_reaches_a_ticket() -> None:
    """Our data's notes name the ledger they read; a PostgreSQL URL's password is masked."""
    from possettle.console.auth import User
    from possettle.console.desk import start
    from possettle.support.tickets import Reported

    engine = sa.create_engine("postgresql+psycopg://ops:s3cret-pw@db.example:5432/ledger")
    url = engine.url.render_as_string(hide_password=False)
    fake = FakeEngine()
    base = fake_desk(fake)

    def noting(case: Case, clock: Clock) -> Result:
        found = base.diagnose(case, clock)
        return replace(found, notes=(Text(f"read {case.host_db}", f"读取 {case.host_db}"),))

    desk = replace(base, diagnose=noting)
    saved: dict[str, Any] = {}

    class Conn:
        def __enter__(self) -> Conn:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def create(conn: Any, reported: Reported, **kw: Any) -> int:
        saved.update(kw)
        return 1

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("possettle.console.desk._ours", lambda engine, tid: True)
        mp.setattr("possettle.support.tickets.create", create)
        mp.setattr("possettle.console.bridge.record", lambda *a: None)
        mp.setattr(engine, "begin", lambda: Conn())
        start(engine, FixedClock(T0), desk, User("op", ConsoleRole.OPERATOR), Reported(tid="T1"))
    assert fake.cases[-1].host_db == url  # the engine needs the real URL to read the ledger
    shown = str(saved["result"])
    assert "s3cret-pw" not in shown and "db.example" in shown and "***" in shown


async def test_the_real_engine_behind_the_api_asks_and_reranks(console: Console) -> None:
    """The support package's own engine (no fake): the case a merchant reads out, the
    question it asks answered with the first answer offered, every id it gives valid."""
    assert await console.login("operator") == 303
    headers = {"X-CSRF-Token": await console.csrf("/support")}
    acquirers = (await console.client.get("/api/support/acquirers")).json()["acquirers"]
    assert {"cup", "lakala", "possettle", "other"} <= {a["id"] for a in acquirers}
    ticket = await _start_on(console, headers, screen=SCREEN, acquirer="cup")
    assert ticket["cause"] == "reversal.abandoned", ticket["result"]["causes"][:3]
    asked = ticket["result"]["next_question"]
    if asked is None:  # confident at once: nothing to answer
        assert ticket["result"]["stop"] in ("confident", "no_question_helps")
        return
    choice = asked["answers"][0]["id"]
    path = f"/api/support/tickets/{ticket['id']}/answers"
    done = await console.client.post(
        path, headers=headers, json={"question": asked["id"], "answer": choice}
    )
    assert done.status_code == 200, done.text
    after = done.json()
    assert after["answers"] == {asked["id"]: choice}
    assert after["result"]["answered"][asked["id"]]["answer"] == choice
    assert [s["event"] for s in after["steps"]] == ["create", "answer"]


async def _start_on(console: Console, headers: dict[str, str], **case: Any) -> dict[str, Any]:
    done = await console.client.post("/api/support/tickets", json=case, headers=headers)
    assert done.status_code == 201, done.text
    found: dict[str, Any] = done.json()
    return found


async def test_an_answer_ranked_on_a_stale_ticket_is_refused_not_lost(desk: Desk) -> None:
    """Two people on one ticket: the answer whose ranking was computed before the other's
    step was saved is refused (409), so no step is ranked on answers that lost one."""
    headers = await _operator(desk)
    ticket = await _start(desk, headers)
    path = f"/api/support/tickets/{ticket['id']}/answers"
    base = desk.fake.diagnose

    def meanwhile(case: Case, clock: Clock) -> Result:
        # the other person's answer lands while this one is being ranked
        from possettle.console.auth import User
        from possettle.console.desk import answer

        answer(desk.engine, desk.clock, fake_desk(desk.fake), User("admin", ConsoleRole.ADMIN),
               ticket["id"], "others_work", "no")  # fmt: skip
        return base(case, clock)

    desk.app.state.console.desk = replace(fake_desk(desk.fake), diagnose=meanwhile)
    done = await desk.client.post(
        path, headers=headers, json={"question": "slip_printed", "answer": "no"}
    )
    assert done.status_code == 409 and "reload" in done.json()["detail"]
    after = (await desk.client.get(f"/api/support/tickets/{ticket['id']}")).json()
    assert after["answers"] == {"others_work": "no"} and len(after["steps"]) == 2

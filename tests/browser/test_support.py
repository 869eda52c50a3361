"""The Support desk in a real browser, with the real support engine and OCR: start a case,
answer the question the desk asks, upload a photo of the screen (rendered with Pillow and a
CJK font), see the ranking change, switch to Chinese, close the ticket; then a case on a
terminal of ours, linked both ways with its page; screenshots in
``artifacts/screenshots/4*-*.png``. Any script error or CSP refusal fails the test (htmx swaps
the steps in under the console's CSP)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FAILING, Browsing
from tests.console.audit_check import audited
from tests.console.labels import LABELS, english_words
from tests.console.support_fake import screen_photo

pytestmark = pytest.mark.browser

SCREEN = "冲正不成功 请与客服联系"


def _ranking(web: Browsing) -> list[str]:
    return [
        str(a.get_attribute("data-cause")) for a in web.page.locator("#ranking article.cause").all()
    ]


def test_a_case_answered_and_photographed_reranks_and_speaks_both_languages(
    web: Browsing, tmp_path: Path
) -> None:
    page = web.page
    web.login("operator")
    page.click("header nav >> text=Support desk")
    expect(page.locator("h1")).to_have_text("Support desk")
    web.shot("40-support")

    # a terminal that is not ours: the desk asks
    page.fill("textarea[name=screen]", "结算失败")
    page.select_option("select[name=acquirer]", "cup")
    page.fill("input[name=tid]", "10293847")
    page.click("#start-case")
    expect(page.locator("#interview h1")).to_contain_text("Ticket #")
    expect(page.locator("#interview dl.facts")).to_contain_text("not in this ledger")
    first = _ranking(web)
    assert first, "no ranked cause"
    expect(page.locator("#ranking meter").first).to_be_visible()
    web.shot("41-support-case")

    # the desk asks a question: answer it with its first answer (htmx swaps the step in)
    question = page.locator("#question p.question")
    expect(question).to_be_visible()
    asked = question.get_attribute("data-question")
    page.locator("#question button.answer").first.click()
    expect(page.locator("#steps tbody tr")).to_have_count(2)
    expect(page.locator("#answered")).to_be_visible()
    if page.locator("#question p.question").count():
        assert page.locator("#question p.question").get_attribute("data-question") != asked
    web.shot("42-support-answered")
    answered = _ranking(web)

    # the photo of the screen: read with OCR, and the reversal the terminal gave up on leads
    photo = tmp_path / "screen.jpg"
    photo.write_bytes(screen_photo(SCREEN))
    page.set_input_files("#photo-form input[type=file]", str(photo))
    page.click("#upload-photo")
    expect(page.locator("#steps tbody tr")).to_have_count(3)
    expect(page.locator("#photo-text")).to_contain_text("冲正")
    after = _ranking(web)
    assert after[0] == "reversal.abandoned", after
    assert after != answered
    expect(page.locator("#ranking article.cause").first).to_contain_text("What NOT to do")
    web.shot("43-support-photo")

    # Chinese: the same ticket, every label in Chinese
    page.click("#lang-switch")
    expect(page.locator("#ranking h2")).to_have_text("可能的原因")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    texts = page.locator(LABELS).all_inner_texts()
    assert english_words(texts, frozenset({"operator"})) == []
    web.shot("44-support-zh")

    # closing keeps the final cause
    ticket_url = page.url.split("?")[0]
    ticket_id = ticket_url.rsplit("/", 1)[1]
    page.click("#close-ticket")
    expect(page.locator("#final-cause")).to_have_text("reversal.abandoned")
    web.shot("45-support-closed-zh")

    # one of ours: the ticket links to the terminal's page, which lists the ticket
    web.go("/support?lang=en")
    page.fill("textarea[name=screen]", SCREEN)
    page.fill("input[name=tid]", FAILING)
    page.click("#start-case")
    expect(page.locator("#terminal-link")).to_have_attribute("href", f"/terminals/{FAILING}")
    expect(page.locator("#interview dl.facts")).to_contain_text("one of ours")
    expect(page.locator("#answered")).to_contain_text("from our data")
    ours_id = page.url.split("?")[0].rsplit("/", 1)[1]
    web.shot("46-support-our-terminal")
    page.click("#terminal-link")
    expect(page.locator("#support-tickets")).to_contain_text(f"#{ours_id}")
    expect(page.locator("#support-tickets")).not_to_contain_text(f"#{ticket_id} ")
    web.shot("47-terminal-tickets")

    from possettle.ledger.engine import create_engine_for

    engine = create_engine_for(f"sqlite:///{web.served.ledger}")
    try:
        for action in ("support.create", "support.answer", "support.photo", "support.close"):
            [record] = audited(engine, action, f"ticket:{ticket_id}")
            assert record["actor"] == "operator"
    finally:
        engine.dispose()

"""A worker's quiz on a phone-sized screen: the countdown ticks with no server run, and 交卷 with questions
unanswered asks before it spends an attempt (screenshots zh and en under artifacts/screenshots/)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, screenshot, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
TEXT = {
    "zh": {
        "start": "开始答题",
        "early": "提前交卷",
        "open": r"还有 9 题未作答",
        "back": "继续作答",
        "anyway": "仍然交卷",
        "score": "得分",
        "q2": r"第 2/10 题",
    },
    "en": {
        "start": "Start",
        "early": "Submit now",
        "open": r"9 questions are not answered",
        "back": "Keep answering",
        "anyway": "Submit anyway",
        "score": "Score",
        "q2": r"Question 2 of 10",
    },
}
SECONDS_LEFT = "getComputedStyle(document.querySelector('.gw-countdown')).getPropertyValue('--gw-left')"


@pytest.mark.parametrize(("lang", "worker"), [("zh", "dp0183"), ("en", "dp0184")])
def test_quiz_on_a_phone_counts_down_and_confirms_an_early_submit(page: Page, server, lang, worker):
    """Test that on a phone the time left ticks down in the browser, and that submitting with 9 of 10
    questions open asks first, can go back to the first open question, and submits only when confirmed."""
    text = TEXT[lang]
    sign_in(page, server, worker, path="quiz?course=1")
    if lang == "en":
        page.get_by_test_id("stSidebar").get_by_text("English").click()
        wait_for_run(page)
    page.set_viewport_size(PHONE)
    wait_for_run(page)
    page.get_by_role("button", name=text["start"]).click()
    wait_for_run(page)

    # The clock moves by itself: the registered CSS property counts down with no script and no rerun.
    expect(page.get_by_test_id("gw-countdown")).to_be_visible()
    first = int(page.evaluate(SECONDS_LEFT))
    assert 0 < first <= 20 * 60
    # Poll from Python: wait_for_function evaluates its predicate with eval, which the app's CSP refuses.
    for _ in range(60):
        if int(page.evaluate(SECONDS_LEFT)) <= first - 2:
            break
        page.wait_for_timeout(250)
    assert int(page.evaluate(SECONDS_LEFT)) <= first - 2

    radios = page.get_by_test_id("stRadio")
    expect(radios.or_(page.get_by_test_id("stCheckbox")).first).to_be_visible()
    if radios.count():
        radios.get_by_role("radio").first.check(force=True)
    else:
        page.get_by_test_id("stCheckbox").first.click()
    page.get_by_role("button", name=text["early"]).click()
    wait_for_run(page)
    expect(page.get_by_text(re.compile(text["open"]))).to_be_visible()
    screenshot(page, f"quiz-confirm-phone-{lang}")
    page.get_by_role("button", name=text["back"]).click()
    wait_for_run(page)
    expect(page.get_by_text(re.compile(text["q2"]))).to_be_visible()  # the first question left open
    expect(page.get_by_text(re.compile(text["open"]))).to_have_count(0)

    page.get_by_role("button", name=text["early"]).click()
    wait_for_run(page)
    page.get_by_role("button", name=text["anyway"]).click()
    wait_for_run(page)
    expect(page.get_by_test_id("stMetric").filter(has_text=text["score"])).to_be_visible()
    screenshot(page, f"quiz-result-phone-{lang}")

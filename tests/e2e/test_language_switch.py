"""Browser: a choice made in one language survives a switch to the other, shown in the new language.

A keyed select keeps its value across reruns, and the browser keeps the label it was last sent: before
ui/state.lang_key the English page read "Check: 注销后恢复" (数据质量) or "Action: 申请延期" (事件闭环, in CI's
screenshot); a select whose options were labels themselves (考评排名's filters) or whose key carried the language
(事件闭环's event) lost the choice. One browser session walks three pages, makes a choice in one language,
switches, and reads the choice back: a select box shows it in its input (which has_text does not see), a radio
in its checked option, a multiselect in its tag. Each check failed before lang_key. (A segmented control, e.g.
智能派单's preset, showed its choice in the new language before too.) Screenshots under
artifacts/screenshots/switch-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session, select

from core.db import get_engine
from core.i18n import t
from core.models import OrgUnit
from tests.e2e.conftest import pick_option, screenshot, signed_in_directly, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
NAMES = {"zh": "中文", "en": "English"}


def switch_to(page: Page, lang: str) -> None:
    """Click the sidebar's language switch unless ``lang`` is on already."""
    button = page.get_by_test_id("stSidebar").get_by_role("radio", name=NAMES[lang], exact=True)
    if button.get_attribute("aria-checked") != "true":
        button.click()
        wait_for_run(page)


def open_in(page: Page, url: str, lang: str) -> None:
    page.goto(url)
    wait_for_run(page)
    switch_to(page, lang)


def select_input(page: Page, label: str) -> Locator:
    """The input showing a select box's current value."""
    return page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True)).locator("input")


def test_choices_survive_a_language_switch_in_the_new_language(page: Page, server):
    """Test 数据质量's check, 考评排名's party and subdistrict filters and 事件闭环's event: each keeps the option
    chosen before the switch and shows it with the new language's label."""
    page.set_viewport_size({"width": 1366, "height": 1400})
    signed_in_directly(page, server, "manager", path="data_quality")

    # 数据质量 (zh → en): a select box of codes with translated labels
    switch_to(page, "zh")
    kind = {lang: t("field.dq.kind.reversed_dereg", lang) for lang in NAMES}
    pick_option(page, page.get_by_label(t("field.dq.kind", "zh"), exact=True), kind["zh"])
    switch_to(page, "en")
    expect(select_input(page, t("field.dq.kind", "en"))).to_have_value(kind["en"])
    screenshot(page, "switch-data-quality-en")

    # 考评排名 (zh → en): the party filter (a radio whose options were its labels) and the subdistrict filter
    # (a multiselect of names, now of ids)
    with Session(get_engine(server.db_url)) as s:
        sub = s.exec(select(OrgUnit).where(OrgUnit.level == "subdistrict").order_by(OrgUnit.name_zh)).first()
    assert sub is not None
    open_in(page, f"{server.url}/scorecards", "zh")
    page.get_by_role("radio", name=t("score.filter.non_party", "zh"), exact=True).check(force=True)
    wait_for_run(page)
    subs = page.get_by_test_id("stMultiSelect").filter(
        has=page.get_by_text(t("score.col.subdistrict", "zh"), exact=True)
    )
    pick_option(page, subs.get_by_role("combobox"), sub.name_zh)
    page.keyboard.press("Escape")  # a multiselect's list stays open (and hides the page from role queries)
    switch_to(page, "en")
    expect(page.get_by_role("radio", name=t("score.filter.non_party", "en"), exact=True)).to_be_checked()
    subs = page.get_by_test_id("stMultiSelect").filter(
        has=page.get_by_text(t("score.col.subdistrict", "en"), exact=True)
    )
    expect(subs.locator("[data-tag]")).to_have_text([sub.name_en])
    screenshot(page, "switch-scorecards-en")

    # 事件闭环 (en → zh): the event picker keeps an event picked in English
    open_in(page, f"{server.url}/events", "en")
    picker = select_input(page, t("field.events.pick", "en"))
    first = picker.input_value().split(" · ")[0]
    pick_option(page, picker, re.compile(rf"^(?!{first} )D[PW]\d+ · "))  # another event than the first
    chosen = picker.input_value().split(" · ")[0]
    switch_to(page, "zh")
    picker = select_input(page, t("field.events.pick", "zh"))
    expect(picker).to_have_value(re.compile(rf"^{chosen} · [\u4e00-\u9fff]"))
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "switch-events-zh")

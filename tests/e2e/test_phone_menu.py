"""The menu on a phone-sized screen (390×844) gets out of the way: a choice in the sidebar menu closes it, and
after signing out nothing covers the sign-in form (issue #22; screenshots zh and en under
artifacts/screenshots/)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, screenshot, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
TEXT = {
    "zh": {"tasks": "我的任务", "sign_out": "退出登录", "username": "用户名"},
    "en": {"tasks": "My tasks", "sign_out": "Sign out", "username": "Username"},
}


def _open_menu(page: Page) -> None:
    page.get_by_test_id("stExpandSidebarButton").click()
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "false")


@pytest.mark.parametrize(("lang", "worker"), [("zh", "dp0183"), ("en", "dp0184")])
def test_phone_menu_closes_after_a_choice_and_leaves_the_sign_in_form_clear(page: Page, server, lang, worker):
    """Test that on a phone the sidebar menu closes after choosing a page and after signing out, and that the
    sign-in form is then fully visible with no sidebar over it."""
    text = TEXT[lang]
    sign_in(page, server, worker)
    if lang == "en":
        page.get_by_test_id("stSidebar").get_by_text("English").click()
        wait_for_run(page)
    page.set_viewport_size(PHONE)
    wait_for_run(page)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_have_attribute("data-collapsed", "true")  # a phone starts with the menu closed

    _open_menu(page)
    screenshot(page, f"phone-menu-open-{lang}")
    sidebar.get_by_test_id("stPageLink-NavLink").filter(has_text=text["tasks"]).click()
    wait_for_run(page)
    expect(page.get_by_role("heading", name=text["tasks"])).to_be_visible()
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    expect(page.get_by_role("heading", name=text["tasks"])).to_be_in_viewport()
    screenshot(page, f"phone-menu-after-choice-{lang}")

    _open_menu(page)
    sidebar.get_by_role("button", name=text["sign_out"]).click()
    wait_for_run(page)
    username = page.get_by_role("textbox", name=text["username"])
    expect(username).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    expect(page.get_by_test_id("stExpandSidebarButton")).to_be_hidden()
    # Nothing lies over the form: the element at the centre of the user-name box is the box itself.
    box = username.bounding_box()
    assert box is not None
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).tagName",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert hit == "INPUT"
    username.fill(worker)  # and it takes typing
    screenshot(page, f"phone-menu-signed-out-{lang}")

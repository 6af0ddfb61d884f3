"""The API clients page in the real browser: an administrator registers a client and copies its key (zh),
then sees the list in English; screenshots of both under artifacts/screenshots/. On the shared server, signed in
directly (the page is the subject, not the sign-in; only this test registers clients, so the list starts
empty there too)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, signed_in_directly, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_admin_registers_an_api_client_and_sees_the_key_once(page: Page, server):
    """Test that registering shows the key once, and the English page lists the client with its operations."""
    signed_in_directly(page, server, "admin")
    page.get_by_test_id("stSidebar").get_by_role("link", name="接口客户端", exact=True).click()
    wait_for_run(page)
    screenshot(page, "api-clients-empty-zh")
    page.get_by_role("textbox", name="名称").fill("city-platform-下沙社区网格事件同步")
    page.get_by_test_id("stMultiSelect").first.click()
    for label in ("写入事件", "读取事件", "读取派单结果"):
        page.get_by_role("option", name=label).click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="登记并生成密钥").click()
    wait_for_run(page)
    expect(page.get_by_text("密钥只显示这一次", exact=False)).to_be_visible()
    expect(page.locator("code").filter(has_text=re.compile(r"^gw_[0-9a-f]{8}\."))).to_be_visible()
    screenshot(page, "api-clients-registered-zh")
    page.get_by_test_id("stSidebar").get_by_text("English").click()
    wait_for_run(page)
    expect(page.get_by_text("Outside systems allowed to call the JSON API", exact=False)).to_be_visible()
    expect(page.locator("code")).to_have_count(0)
    screenshot(page, "api-clients-list-en")

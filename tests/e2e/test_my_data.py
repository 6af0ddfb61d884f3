"""我的数据 in a real browser: a worker (phone size) downloads everything held about them and files a correction;
the district manager sees it on the corrections page and answers it; the worker sees the answer. Screenshots in
zh and en under artifacts/screenshots/."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PHONE, screenshot, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
MESSAGE = "入职日期应为 2018-03-01，不是 2018-01-01"


def _english(page: Page) -> None:
    size = page.viewport_size
    page.set_viewport_size({"width": 1366, "height": 900})  # the sidebar folds away at phone width
    wait_for_run(page)
    page.get_by_test_id("stSidebar").get_by_text("English").click()
    wait_for_run(page)
    if size:
        page.set_viewport_size(size)
        wait_for_run(page)


def test_worker_downloads_my_data_and_manager_answers_the_correction(page: Page, browser: Browser, server):
    """Test the whole right of access and correction: the download holds the worker's record and rows from other
    areas, the correction reaches the manager's page, the answer comes back to the worker."""
    sign_in(page, server, "dp0001", path="my_data")
    page.set_viewport_size(PHONE)
    wait_for_run(page)
    expect(page.get_by_role("heading", name="我的数据")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "my-data-phone-zh")
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)  # tables are read when opened
    page.get_by_test_id("stExpander").filter(has_text="考勤").locator("summary").click()
    wait_for_run(page)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(1)
    screenshot(page, "my-data-table-open-phone-zh")

    with page.expect_download() as info:
        page.get_by_role("button", name="下载我的全部数据（JSON）").click()
    data = json.loads(open(info.value.path(), encoding="utf-8").read())
    assert data["tables"]["worker"][0]["employee_no"].lower() == "dp0001"
    assert "password_hash" not in data["tables"]["app_user"][0]
    assert len(data["tables"]) >= 4  # record, account and rows from the courses / field / scoring areas
    wait_for_run(page)

    page.get_by_label("哪里不对、应当是什么").fill(MESSAGE)
    page.get_by_role("button", name="提交更正申请").click()
    wait_for_run(page)
    expect(page.get_by_text("已提交，您的主管会在平台内答复。")).to_be_visible()
    expect(page.get_by_text(MESSAGE)).to_be_visible()
    screenshot(page, "my-data-correction-sent-phone-zh")

    manager = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    sign_in(manager, server, "manager", path="corrections")
    expect(manager.get_by_role("heading", name="个人信息更正与删除")).to_be_visible()
    expect(manager.get_by_test_id("stException")).to_have_count(0)
    manager.get_by_label("答复说明").fill("已核对人事档案，已改正")
    screenshot(manager, "corrections-manager-zh")
    manager.get_by_role("button", name="采纳", exact=True).click()
    wait_for_run(manager)
    expect(manager.get_by_text("已答复，申请人会收到通知。")).to_be_visible()
    _english(manager)
    manager.get_by_text("Open requests only").click()  # show answered requests too
    wait_for_run(manager)
    expect(manager.get_by_test_id("stDataFrame").first).to_be_visible()
    expect(manager.get_by_test_id("stException")).to_have_count(0)
    screenshot(manager, "corrections-manager-en")
    manager.close()

    page.reload()
    wait_for_run(page)
    expect(page.get_by_text("答复：已核对人事档案，已改正")).to_be_visible()
    expect(page.get_by_text("已采纳").first).to_be_visible()
    screenshot(page, "my-data-answered-phone-zh")
    _english(page)
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    expect(page.get_by_text("Answer: 已核对人事档案，已改正")).to_be_visible()
    screenshot(page, "my-data-answered-phone-en")

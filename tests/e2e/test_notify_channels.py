"""An administrator adds a WeCom robot on the channels page and sends it a test message (a loopback robot
answers), then reads the delivery log; a worker's notification settings at phone width. Screenshots zh/en."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from core.i18n import t
from tests.e2e.conftest import screenshot, sign_in, wait_for_run
from tests.unit._notify_fakes import FakeRobot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_admin_adds_a_robot_sends_a_test_and_reads_the_log(page: Page, server, httpserver):
    """Test that a robot added on the page is listed with its key hidden, its test message reaches the
    (loopback) robot, and the delivery log shows it sent, in zh and en."""
    robot = FakeRobot("wecom").install(httpserver)
    sign_in(page, server, "admin", path="notify_channels")
    expect(page.get_by_role("heading", level=1).first).to_have_text(t("notify.channels.title", "zh"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator(".st-key-notify_add_name input").fill("下沙社区网格员工作群(企业微信)")
    page.locator(".st-key-notify_add_url input").fill(robot.url(httpserver))
    page.get_by_role("button", name=t("notify.add.submit", "zh")).click()
    wait_for_run(page)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    page.locator(".st-key-notify_test button").click()
    wait_for_run(page)
    expect(
        page.get_by_text(t("notify.channels.test_ok", "zh", name="下沙社区网格员工作群(企业微信)"))
    ).to_be_visible()
    assert len(robot.received) == 1
    screenshot(page, "notify-channels-zh")
    page.get_by_test_id("stSidebar").get_by_text("English").click()
    wait_for_run(page)
    expect(page.get_by_role("heading", level=1).first).to_have_text(t("notify.channels.title", "en"))
    screenshot(page, "notify-channels-en")
    page.get_by_role("tab", name=t("notify.tab.log", "en")).click()
    wait_for_run(page)
    expect(page.get_by_text(t("notify.log.count", "en", n=1))).to_be_visible()
    screenshot(page, "notify-log-en")


def test_worker_notification_settings_at_phone_width(page: Page, server):
    """Test that a worker's settings page fits a phone and saves, in zh and en."""
    sign_in(page, server, "dp0001", path="notify_prefs")
    page.set_viewport_size({"width": 390, "height": 844})
    wait_for_run(page)
    expect(page.get_by_role("heading", level=1).first).to_have_text(t("notify.prefs.title", "zh"))
    screenshot(page, "notify-prefs-zh")
    page.get_by_role("button", name=t("notify.prefs.save", "zh")).click()
    wait_for_run(page)
    expect(page.get_by_text(t("notify.prefs.saved", "zh"))).to_be_visible()
    page.goto(f"{server.url}/inbox")
    wait_for_run(page)
    expect(page.get_by_role("link", name=t("notify.prefs.link", "zh"))).to_be_visible()


def test_community_manager_fixes_a_refused_key_on_the_page(page: Page, server, httpserver):
    """Test that the xiasha community manager opens the channels page, adds their robot with a wrong key,
    sees it refused and flagged, enters the right URL under Edit, and the next test message goes through."""
    robot = FakeRobot("wecom").install(httpserver)
    sign_in(page, server, "xiasha", path="notify_channels")
    page.set_viewport_size({"width": 1280, "height": 1100})
    expect(page.get_by_role("heading", level=1).first).to_have_text(t("notify.channels.title", "zh"))
    page.locator(".st-key-notify_add_name input").fill("下沙社区群")
    page.locator(".st-key-notify_add_url input").fill(robot.url(httpserver, bad_key=True))
    page.get_by_role("button", name=t("notify.add.submit", "zh")).click()
    wait_for_run(page)
    expect(page.get_by_text(t("notify.add.done", "zh", name="下沙社区群"))).to_be_visible()
    page.locator(".st-key-notify_test button").click()
    wait_for_run(page)
    # The refusal in plain words (the provider's own code, 93000, is kept for the delivery log, not shown here).
    refused = t("notify.channels.test_failed", "zh", reason=t("notify.reason.config", "zh"))
    expect(page.get_by_text(refused).first).to_be_visible()
    expect(page.get_by_role("main").get_by_text("93000", exact=False)).to_have_count(0)
    page.get_by_text(t("notify.edit.title", "zh", name="下沙社区群")).click()
    new_url = page.get_by_role("textbox", name=t("notify.edit.url", "zh"))
    new_url.fill(robot.url(httpserver))
    screenshot(page, "notify-channels-manager-flagged-zh")
    page.get_by_role("button", name=t("notify.edit.submit", "zh")).click()
    wait_for_run(page)
    # The save is said after its rerun (and the test message is sent only once the save has finished).
    expect(page.get_by_text(t("notify.edit.done", "zh", name="下沙社区群"))).to_be_visible()
    expect(page.get_by_text(t("notify.channels.flagged_banner", "zh", name="下沙社区群"))).to_have_count(0)
    page.locator(".st-key-notify_test button").click()
    wait_for_run(page)
    expect(page.get_by_text(t("notify.channels.test_ok", "zh", name="下沙社区群"))).to_be_visible()
    assert len(robot.received) == 1 and len(robot.refused) == 1
    page.get_by_test_id("stSidebar").get_by_text("English").click()
    wait_for_run(page)
    expect(page.get_by_role("heading", level=1).first).to_have_text(t("notify.channels.title", "en"))
    screenshot(page, "notify-channels-manager-en")

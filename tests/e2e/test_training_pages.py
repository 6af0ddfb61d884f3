"""The training-plan pages in a real browser: the manager's dashboard and the worker's phone view, zh and en,
with screenshots under artifacts/screenshots/ (the worker page at phone width)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, screenshot, sign_in, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_worker_phone_view_in_both_languages(page: Page, server):
    """Test that a worker's 我的学时 renders at phone width with their hours, compulsory courses and a lesson
    to continue, in zh and en, and that opening the lesson shows it."""
    sign_in(page, server, "dp0001", path="my_training")
    for lang in ("zh", "en"):
        if lang == "en":
            page.get_by_test_id("stSidebar").get_by_text("English").click()
            wait_for_run(page)
        page.set_viewport_size(PHONE)
        wait_for_run(page)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(
            page.get_by_text("必修课" if lang == "zh" else "Compulsory courses", exact=True)
        ).to_be_visible()
        screenshot(page, f"training-my-phone-{lang}")
        if lang == "zh":  # the lesson stays open in this browser session: in English it is already shown
            page.get_by_role("button", name="打开").first.click()
            wait_for_run(page)
        expect(
            page.get_by_role(
                "button", name="我已学完这一课" if lang == "zh" else "I have finished this lesson"
            )
        ).to_be_visible()
        screenshot(page, f"training-my-lesson-phone-{lang}")
        page.set_viewport_size({"width": 1366, "height": 900})
        wait_for_run(page)


def test_manager_dashboard_in_both_languages(page: Page, server):
    """Test that the district manager's 培训计划与学时 renders the dashboard (chart, lists) and the bulletin tab."""
    sign_in(page, server, "manager", path="training_plan")
    for lang in ("zh", "en"):
        if lang == "en":
            page.get_by_test_id("stSidebar").get_by_text("English").click()
            wait_for_run(page)
        expect(page.get_by_role("tab", name="督导看板" if lang == "zh" else "Dashboard")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
        screenshot(page, f"training-dashboard-{lang}")
        page.get_by_role("tab", name="培训通报" if lang == "zh" else "Bulletin").click()
        wait_for_run(page)
        screenshot(page, f"training-bulletin-{lang}")
        page.get_by_role("tab", name="培训计划" if lang == "zh" else "Plans").click()
        wait_for_run(page)
        screenshot(page, f"training-plans-{lang}")
        page.get_by_role("tab", name="督导看板" if lang == "zh" else "Dashboard").click()
        wait_for_run(page)

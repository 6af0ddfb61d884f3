"""Signing in and out through the real form, the role menus, the language switch, and the
pages/ hazard: every page URL on a fresh server shows the sign-in form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.i18n import t
from tests.e2e.conftest import screenshot, sign_in, wait_for_run
from ui.pages import PAGES

# Locators by widget key (Streamlit's st-key-<key> class) and by link target, texts from the catalogs:
# a copy edit does not break these tests.
USERNAME = ".st-key-signin_username input"
PASSWORD = ".st-key-signin_password input"


def _menu_link(sidebar, url_path: str):  # noqa: ANN001, ANN202
    return sidebar.locator(f'[data-testid=stPageLink-NavLink][href="{url_path}"]')


pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_page_urls_on_a_fresh_server_show_the_sign_in_form(page: Page, fresh_server):
    """Test that no page can be opened without signing in, even before anything loaded `/`: a worker's, a
    manager's and an administrator's page, each the first thing its server process runs of it. (Every page
    file run first, without app.py, by a visitor who has not signed in: tests/app/test_access.py.)"""
    sample = {"my_tasks", "scorecards", "users"}
    for spec in [p for p in PAGES if p.exists and p.url_path in sample]:
        page.goto(f"{fresh_server.url}/{spec.url_path}")
        wait_for_run(page)
        expect(page.locator(USERNAME)).to_be_visible()
        expect(page.get_by_test_id("stSidebar")).to_have_count(0)


def test_manager_signs_in_sees_manager_menu_switches_language_and_signs_out(page: Page, server):
    """Test the manager's path: sign in, manager menu, English, sign out back to the form."""
    sign_in(page, server, "manager")
    sidebar = page.get_by_test_id("stSidebar")
    expect(_menu_link(sidebar, "workers")).to_be_visible()
    expect(_menu_link(sidebar, "users")).to_have_count(0)
    expect(page.get_by_text(t("home.workers", "zh"))).to_be_visible()
    screenshot(page, "manager-home-zh")
    sidebar.get_by_text("English").click()
    wait_for_run(page)
    expect(page.get_by_text(t("home.workers", "en"))).to_be_visible()
    screenshot(page, "manager-home-en")
    sidebar.get_by_role("button", name=re.compile(t("signin.sign_out", "en"))).click()
    wait_for_run(page)
    expect(page.get_by_role("button", name=t("signin.submit", "en"))).to_be_visible()


def test_worker_signs_in_and_sees_only_worker_pages(page: Page, server):
    """Test that a worker's menu holds no manager or admin pages."""
    sign_in(page, server, "dp0001")
    sidebar = page.get_by_test_id("stSidebar")
    expect(_menu_link(sidebar, "my_tasks")).to_be_visible()
    expect(_menu_link(sidebar, "workers")).to_have_count(0)
    expect(page.get_by_text(t("home.my_grid", "zh"))).to_be_visible()
    screenshot(page, "worker-home-zh")


def test_wrong_password_gives_a_clear_message(page: Page, server):
    """Test that a wrong password is refused with a message, not a stack trace."""
    page.goto(server.url)
    wait_for_run(page)
    page.locator(USERNAME).fill("xiasha")
    page.locator(PASSWORD).fill("not-the-password")
    page.get_by_role("button", name=t("signin.submit", "zh")).click()
    wait_for_run(page)
    expect(page.get_by_text(t("signin.error.bad_credentials", "zh"))).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)

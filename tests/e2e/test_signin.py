"""Signing in and out through the real form, the role menus, the language switch, and the
pages/ hazard: every page URL on a fresh server shows the sign-in form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, sign_in, wait_for_run
from ui.pages import PAGES

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_every_page_url_on_a_fresh_server_shows_the_sign_in_form(page: Page, fresh_server):
    """Test that no page can be opened without signing in, even before anything loaded `/`."""
    for spec in [p for p in PAGES if p.exists and p.path != "app.py"]:
        page.goto(f"{fresh_server.url}/{spec.url_path}")
        wait_for_run(page)
        expect(page.get_by_role("button", name="登录")).to_be_visible()
        expect(page.get_by_test_id("stSidebar")).to_have_count(0)


def test_manager_signs_in_sees_manager_menu_switches_language_and_signs_out(page: Page, server):
    """Test the manager's path: sign in, manager menu, English, sign out back to the form."""
    sign_in(page, server, "manager")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("link", name="网格员")).to_be_visible()
    expect(sidebar.get_by_role("link", name="用户与角色")).to_have_count(0)
    expect(page.get_by_text("在岗网格员")).to_be_visible()
    screenshot(page, "manager-home-zh")
    sidebar.get_by_text("English").click()
    wait_for_run(page)
    expect(page.get_by_text("Active workers")).to_be_visible()
    screenshot(page, "manager-home-en")
    sidebar.get_by_role("button", name=re.compile("Sign out")).click()
    wait_for_run(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_worker_signs_in_and_sees_only_worker_pages(page: Page, server):
    """Test that a worker's menu holds no manager or admin pages."""
    sign_in(page, server, "dp0001")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("link", name="首页")).to_be_visible()
    expect(sidebar.get_by_role("link", name="网格员")).to_have_count(0)
    expect(page.get_by_text("我的网格")).to_be_visible()
    screenshot(page, "worker-home-zh")


def test_wrong_password_gives_a_clear_message(page: Page, server):
    """Test that a wrong password is refused with a message, not a stack trace."""
    page.goto(server.url)
    wait_for_run(page)
    page.get_by_role("textbox", name="用户名").fill("xiasha")
    page.get_by_role("textbox", name="密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    wait_for_run(page)
    expect(page.get_by_text("用户名或密码不正确")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)

"""The "done when" of issue #18's second factor, in a real browser: an administrator sets up a second factor
right after the password (QR code, key, first code, recovery codes), signs out, signs in with a TOTP code, signs
out, and signs in with a recovery code. Screenshots of the set-up page and the code step in zh and en, at a
desk and on a phone, go under artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.totp import current_step, totp
from tests.e2e.conftest import DEMO_PASSWORD, PHONE, screenshot, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
DESK = {"width": 1366, "height": 900}


def _password(page: Page, username: str) -> None:
    page.get_by_role("textbox", name=re.compile("^(用户名|Username)$")).fill(username)
    page.get_by_role("textbox", name=re.compile("^(密码|Password)$")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("^(登录|Sign in)$")).click()
    wait_for_run(page)


def _shots(page: Page, name: str) -> None:
    screenshot(page, name)
    page.set_viewport_size(PHONE)
    wait_for_run(page)
    screenshot(page, f"{name}_phone")
    page.set_viewport_size(DESK)
    wait_for_run(page)


def _code(page: Page, code: str) -> None:
    page.get_by_role("textbox", name=re.compile("^(验证码或恢复码|Code or recovery code)$")).fill(code)
    page.get_by_role("button", name=re.compile("^(验证|Verify)$")).click()
    wait_for_run(page)
    expect(page.get_by_test_id("stSidebar")).to_be_visible()


def _sign_out(page: Page) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name=re.compile("^(退出登录|Sign out)$")).click()
    wait_for_run(page)
    expect(page.get_by_role("textbox", name=re.compile("^(用户名|Username)$"))).to_be_visible()


def test_enrol_then_sign_in_with_a_code_and_with_a_recovery_code(page: Page, fresh_server):
    """Test the whole second factor as a person meets it: set-up after the password, then a sign-in with a
    TOTP code and one with a recovery code (and the spent recovery code refused)."""
    page.goto(fresh_server.url)
    wait_for_run(page)
    _password(page, "admin")
    expect(page.get_by_role("heading", name="设置第二重验证")).to_be_visible()
    expect(page.get_by_test_id("stImage")).to_be_visible()  # the QR code
    expect(page.get_by_test_id("stSidebar")).to_have_count(0)  # nothing else before the set-up
    _shots(page, "second_factor_enrol_zh")
    secret = page.get_by_test_id("stCode").first.inner_text().replace(" ", "").strip()
    page.get_by_role("textbox", name="应用显示的 6 位验证码").fill(totp(secret, current_step() - 1))
    page.get_by_role("button", name="确认并启用").click()
    wait_for_run(page)
    expect(page.get_by_role("heading", name="恢复码")).to_be_visible()
    codes = page.get_by_test_id("stCode").first.inner_text().split()
    assert len(codes) == 10
    page.get_by_role("button", name="我已保存恢复码，继续").click()
    wait_for_run(page)
    expect(page.get_by_test_id("stSidebar")).to_be_visible()
    _sign_out(page)

    _password(page, "admin")
    expect(page.get_by_role("heading", name="第二重验证")).to_be_visible()
    _shots(page, "second_factor_code_zh")
    _code(page, totp(secret, current_step()))
    _sign_out(page)

    page.get_by_text("English").first.click()
    wait_for_run(page)
    _password(page, "admin")
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    _shots(page, "second_factor_code_en")
    _code(page, codes[0])
    _sign_out(page)

    _password(page, "admin")  # the spent recovery code is refused
    page.get_by_role("textbox", name="Code or recovery code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    wait_for_run(page)
    expect(page.get_by_text("That code is wrong or was already used.")).to_be_visible()
    page.get_by_role("button", name="Back to sign-in").click()
    wait_for_run(page)

    _password(page, "secadmin")  # the set-up page in English
    expect(page.get_by_role("heading", name="Set up a second factor")).to_be_visible()
    _shots(page, "second_factor_enrol_en")

"""Signed in like a real web app (issue #12): the HttpOnly session cookie survives a reload and a new tab,
sign-out and an administrator's revocation end it for good, and an expired session asks to sign in again."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import Session, col, select, update

from core import clock
from core.db import make_engine
from core.i18n import t
from core.models import User
from core.models_web_sessions import WebSession
from core.web_sessions import COOKIE_NAME
from tests.e2e.conftest import Server, screenshot, sign_in, signed_in_directly, wait_for_run

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _signed_in_with_cookie(page: Page, server: Server, username: str, path: str = "") -> dict:
    """Sign in through the form and wait until the browser holds the session cookie; return the cookie."""
    with page.expect_response(lambda r: "/_gw/session" in r.url) as answer:
        sign_in(page, server, username, path=path)
    assert answer.value.status == 204
    return _cookie(page.context)


def _cookie(context: BrowserContext) -> dict:
    return next(c for c in context.cookies() if c["name"] == COOKIE_NAME)


def _expect_sign_in_form(page: Page) -> None:
    expect(page.get_by_role("button", name=re.compile("^(登录|Sign in)$"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("退出登录|Sign out"))).to_have_count(0)


def _expect_signed_in(page: Page, name: str) -> None:
    expect(page.get_by_test_id("stSidebar").get_by_text(name)).to_be_visible()


def _display_name(server: Server, username: str) -> str:
    engine = make_engine(server.db_url)
    with Session(engine) as s:
        name = s.exec(select(User.display_name).where(User.username == username)).one()
    engine.dispose()
    return name


def test_a_reload_and_a_new_tab_stay_signed_in_with_a_cookie_page_scripts_cannot_read(page: Page, server):
    """Test that after signing in, a reload and a new tab on a page URL are still signed in, and the cookie
    is HttpOnly, SameSite=Lax and absent from document.cookie."""
    cookie = _signed_in_with_cookie(page, server, "manager")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert not cookie[
        "secure"
    ]  # plain http on loopback; over https (or X-Forwarded-Proto: https) it is Secure
    assert COOKIE_NAME not in page.evaluate("document.cookie")
    name = _display_name(server, "manager")
    page.reload()
    wait_for_run(page)
    _expect_signed_in(page, name)
    expect(page.get_by_text("在岗网格员")).to_be_visible()
    tab = page.context.new_page()
    tab.goto(f"{server.url}/scorecards")
    wait_for_run(tab)
    _expect_signed_in(tab, name)
    expect(tab.get_by_role("heading", name=re.compile("考评"))).to_be_visible()
    tab.close()
    # the language chosen is kept with the session: a reload and a new tab open in it
    page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
    wait_for_run(page)
    expect(page.get_by_text(t("home.workers", "en"), exact=True)).to_be_visible()
    page.reload()
    wait_for_run(page)
    expect(page.get_by_text(t("home.workers", "en"), exact=True)).to_be_visible()
    tab = page.context.new_page()
    tab.goto(f"{server.url}/scorecards")
    wait_for_run(tab)
    expect(tab.get_by_role("heading", name="Scorecards and comparisons")).to_be_visible()
    tab.close()


def test_sign_out_ends_the_session_and_a_copied_cookie_signs_nobody_in(page: Page, server, browser: Browser):
    """Test that sign-out clears the cookie (a reload shows the form) and the cookie copied before it, replayed
    in a fresh browser, shows the sign-in form too."""
    copied = _signed_in_with_cookie(page, server, "xiasha")
    with page.expect_response(lambda r: "/_gw/signout" in r.url) as answer:
        page.get_by_test_id("stSidebar").get_by_role("button", name=re.compile("退出登录")).click()
        wait_for_run(page)
    assert answer.value.status == 204
    _expect_sign_in_form(page)
    assert COOKIE_NAME not in [c["name"] for c in page.context.cookies()]
    page.reload()
    wait_for_run(page)
    _expect_sign_in_form(page)
    thief = browser.new_context()
    try:
        thief.add_cookies([copied])
        other = thief.new_page()
        other.goto(f"{server.url}/workers")
        wait_for_run(other)
        _expect_sign_in_form(other)
    finally:
        thief.close()


def test_an_expired_session_asks_to_sign_in_again(page: Page, server):
    """Test that a session past its absolute lifetime shows the sign-in form with a time-limit note."""
    _signed_in_with_cookie(page, server, "dp0003")
    engine = make_engine(server.db_url)
    with Session(engine) as s:
        user_id = s.exec(select(User.id).where(User.username == "dp0003")).one()
        s.exec(
            update(WebSession)
            .where(col(WebSession.user_id) == user_id)
            .values(expires_at=clock.now() - timedelta(minutes=1))
        )
        s.commit()
    engine.dispose()
    page.reload()
    wait_for_run(page)
    _expect_sign_in_form(page)
    expect(page.get_by_text("登录已超过有效时长")).to_be_visible()


def test_an_admin_ends_a_workers_session_and_it_takes_effect_on_the_next_action(
    page: Page, server, browser: Browser
):
    """Test that the security administrator's sessions page lists a worker's session with its device, ending it signs that
    worker out at their next click, with a note."""
    _signed_in_with_cookie(page, server, "dp0007")
    admin_context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    try:
        admin = admin_context.new_page()
        sign_in(admin, server, "secadmin", path="web_sessions")
        expect(admin.get_by_role("heading", name="登录会话")).to_be_visible()
        admin.get_by_role("combobox").first.click()
        admin.get_by_role("option", name=re.compile("^dp0007 ·")).click()
        admin.keyboard.press("Escape")
        wait_for_run(admin)
        screenshot(admin, "admin-sessions-picked")
        admin.get_by_role("button", name=re.compile("结束所选的 1 个会话")).click()
        wait_for_run(admin)
        expect(admin.get_by_text("确定结束所选的 1 个会话吗")).to_be_visible()  # it asks first (ui.confirm)
        admin.get_by_role("button", name="确认结束").click()
        wait_for_run(admin)
        expect(admin.get_by_text("已结束 1 个会话")).to_be_visible()
    finally:
        admin_context.close()
    page.get_by_test_id("stSidebar").get_by_role("link").nth(1).click()
    wait_for_run(page)
    _expect_sign_in_form(page)
    expect(page.get_by_text("您已退出登录")).to_be_visible()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_sessions_page_screenshot(page: Page, server, lang: str):
    """Test that the security administrator's sessions page shows the signed-in browsers (screenshots in both languages)."""
    signed_in_directly(page, server, "secadmin", path="web_sessions")
    if lang == "en":
        page.get_by_test_id("stSidebar").get_by_text("English").click()
        wait_for_run(page)
        expect(page.get_by_role("heading", name="Signed-in sessions")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    screenshot(page, f"admin-sessions-{lang}")

"""Every menu page, opened in the real browser by a role that may see it, in Chinese and English:
no exception box, and a screenshot under artifacts/screenshots/ for people to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from core.i18n import t
from core.models import Role
from tests.e2e.conftest import screenshot, sign_in, wait_for_run
from ui.pages import pages_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
USER = {Role.WORKER: "dp0001", Role.MANAGER: "xiasha", Role.ADMIN: "admin"}


@pytest.mark.parametrize("role", [Role.WORKER, Role.MANAGER, Role.ADMIN])
def test_every_menu_page_renders_in_both_languages(page: Page, server, role):
    """Test that each page in a role's menu renders without an exception in zh and en."""
    sign_in(page, server, USER[role])
    sidebar = page.get_by_test_id("stSidebar")
    # Admins also see the manager pages; those are toured as a manager.
    own = [p for p in pages_for(role) if p.in_menu
           and (role != Role.ADMIN or Role.MANAGER not in p.roles or p.path == "app.py")]
    for lang in ("zh", "en"):
        if lang == "en":
            sidebar.get_by_text("English").click()
            wait_for_run(page)
        for spec in own:
            sidebar.get_by_role("link", name=t(spec.label, lang), exact=True).click()
            wait_for_run(page)
            expect(page.get_by_test_id("stException")).to_have_count(0)
            screenshot(page, f"tour-{role.value}-{spec.url_path or 'home'}-{lang}")

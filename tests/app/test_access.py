"""Every page × every role: allowed roles get the page, others the refusal, nobody the sign-in form."""

from __future__ import annotations

import pytest

from core.i18n import t
from core.models import Role
from tests.app.util import texts
from ui.pages import PAGES

USERNAME = {Role.ADMIN: "admin", Role.MANAGER: "manager", Role.WORKER: "dp0001"}
EXISTING = [p for p in PAGES if p.exists]


@pytest.mark.parametrize("page", [p.path for p in EXISTING])
def test_signed_out_visitor_gets_the_sign_in_form(open_page, page):
    """Test that a visitor who has not signed in sees the sign-in form on every page."""
    at = open_page(page)
    assert not at.exception
    assert len(at.text_input) == 2  # username and password
    assert at.button[0].label == t("signin.submit", "zh")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", [p.path for p in EXISTING])
def test_each_role_gets_the_page_or_a_refusal(open_page, viewer_of, page, role):
    """Test that a page renders for the roles it admits and refuses the others."""
    spec = next(p for p in EXISTING if p.path == page)
    at = open_page(page, viewer_of(USERNAME[role]))
    assert not at.exception, at.exception
    forbidden = t("guard.forbidden", "zh")
    if role in spec.roles:
        assert forbidden not in texts(at)
    else:
        assert forbidden in texts(at)


def test_menu_lists_only_the_pages_a_role_may_open(open_page, viewer_of):
    """Test that a worker's menu holds worker pages and a manager's holds no admin-only page."""
    worker = open_page(None, viewer_of("dp0001"))
    labels = {link.label for link in worker.get("page_link")}
    assert t("menu.my_learning", "zh") in labels or t("menu.home", "zh") in labels
    assert t("menu.users", "zh") not in labels and t("menu.workers", "zh") not in labels
    manager = open_page(None, viewer_of("manager"))
    mlabels = {link.label for link in manager.get("page_link")}
    assert t("menu.workers", "zh") in mlabels and t("menu.users", "zh") not in mlabels

"""Every page × every role: allowed roles get the page, others the refusal, nobody the sign-in form.

Every page admits by one gate, ``viewer = require(__file__)`` as its first statement (checked below, on
the source), which refuses by the page's row in ui/pages.py (``PageSpec.admits``). So each page is opened by
every role it admits (each draws its own page without an exception) and by one role it refuses (the gate
holds on this page), not by every role it refuses: the same gate refuses them the same way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.i18n import t
from core.models import Role
from core.settings import ROOT
from tests.app.util import texts
from ui.pages import PAGES, spec_for

USERNAME = {
    Role.SYSADMIN: "admin",
    Role.SECADMIN: "secadmin",
    Role.AUDITOR: "auditor",
    Role.MANAGER: "manager",
    Role.WORKER: "dp0001",
}
EXISTING = [p for p in PAGES if p.exists]


@pytest.mark.parametrize("page", [p.path for p in EXISTING])
def test_signed_out_visitor_gets_the_sign_in_form(open_page, page):
    """Test that a visitor who has not signed in sees the sign-in form on every page, the page file run first
    (open_page goes straight to it: app.py has not run in this session)."""
    at = open_page(page)
    assert not at.exception
    assert len(at.text_input) == 2  # username and password
    assert at.button[0].label == t("signin.submit", "zh")


def _opened_by() -> list[tuple[str, Role]]:
    """(page, role): every role a page admits, and the first role it refuses."""
    cases = []
    for spec in EXISTING:
        cases += [(spec.path, r) for r in Role if r in spec.roles]
        cases += [(spec.path, r) for r in Role if r not in spec.roles][:1]
    return cases


@pytest.mark.parametrize(("page", "role"), _opened_by())
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


def _first_statement(path: Path) -> str:
    body = [
        node
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if not isinstance(node, ast.Import | ast.ImportFrom)
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))  # the docstring
    ]
    return ast.unparse(body[0]) if body else ""


@pytest.mark.parametrize("page", [p.path for p in EXISTING])
def test_every_page_begins_at_the_gate(page):
    """Test that the page's first statement is the gate, so its row in ui/pages.py decides who opens it."""
    assert _first_statement(ROOT / page) == "viewer = require(__file__)", page
    assert spec_for(str(ROOT / page)).path == page


@pytest.mark.parametrize("role", list(Role))
def test_menu_lists_only_the_pages_a_role_may_open(open_page, viewer_of, role):
    """Test that a role's menu lists exactly the menu pages it may open (ui/pages.py), each once, and none it may not."""
    at = open_page(None, viewer_of(USERNAME[role]))
    shown = [link.label for link in at.sidebar.get("page_link")]
    may_open = {t(p.label, "zh") for p in EXISTING if role in p.roles and p.in_menu}
    may_not = {t(p.label, "zh") for p in EXISTING if role not in p.roles}
    assert sorted(shown) == sorted(may_open)
    assert not may_open & may_not  # the check above could tell them apart
    if role == Role.WORKER:
        assert t("menu.workers", "zh") not in shown and t("menu.my_tasks", "zh") in shown
    if role == Role.MANAGER:
        assert t("menu.users", "zh") not in shown and t("menu.workers", "zh") in shown
    if role == Role.SYSADMIN:
        assert t("menu.users", "zh") in shown and t("menu.audit", "zh") not in shown
    if role == Role.SECADMIN:
        assert t("menu.sessions", "zh") in shown and t("menu.audit", "zh") not in shown
        assert t("menu.workers", "zh") not in shown
    if role == Role.AUDITOR:  # the audit trail and nothing else (besides home, inbox and own settings)
        assert t("menu.audit", "zh") in shown and t("menu.users", "zh") not in shown
        assert t("menu.workers", "zh") not in shown

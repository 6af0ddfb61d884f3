"""Every menu page, opened in the real browser by a role that may see it, in Chinese and English: the page
shows its own heading (so the click reached the right page and it rendered), no exception box, and a
screenshot under artifacts/screenshots/ for people to look at."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.i18n import t
from core.models import Role
from tests.e2e.conftest import screenshot, sign_in, wait_for_run
from ui.pages import PAGES, pages_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
USER = {
    Role.WORKER: "dp0001",
    Role.MANAGER: "xiasha",
    Role.SYSADMIN: "admin",
    Role.SECADMIN: "secadmin",
    Role.AUDITOR: "auditor",
}

# What each page must show first: its title (catalog key). The home page greets the viewer by name.
HEADINGS = {
    "app.py": "home.welcome",
    "pages/my_learning.py": "courses.my.title",
    "pages/quiz.py": "courses.quiz.title",
    "pages/checkin.py": "courses.checkin.title",
    "pages/my_tasks.py": "field.my.title",
    "pages/my_scorecard.py": "score.my.title",
    "pages/inbox.py": "courses.inbox.title",
    "pages/my_training.py": "training.my.title",
    "pages/training_plan.py": "training.plan.title",
    "pages/catalog.py": "courses.title",
    "pages/attendance.py": "courses.att.title",
    "pages/quiz_results.py": "courses.res.title",
    "pages/field_import.py": "field.import.title",
    "pages/events.py": "field.events.title",
    "pages/rentals.py": "field.rentals.title",
    "pages/data_quality.py": "field.dq.title",
    "pages/scorecards.py": "score.scorecards.title",
    "pages/scorecard.py": "score.scorecard.title",
    "pages/dispatch.py": "assign.title",
    "pages/skill_gaps.py": "assign.gaps.title",
    "pages/metrics.py": "field.metrics.title",
    "pages/schemes.py": "score.schemes.title",
    "pages/workers.py": "workers.title",
    "pages/org.py": "org.title",
    "pages/users.py": "users.title",
    "pages/audit.py": "audit.title",
    "pages/jobs.py": "jobs.title",
    "pages/api_clients.py": "api.title",
    "pages/web_sessions.py": "sessions.title",
    "pages/notify_channels.py": "notify.channels.title",
    "pages/notify_prefs.py": "notify.prefs.title",
    "pages/report_event.py": "triage.report.title",
    "pages/account.py": "auth.account_title",
    "pages/corrections.py": "rights.mgr.title",
    "pages/my_data.py": "rights.my.title",
    "pages/warnings.py": "warning.title",
}


def test_every_page_has_a_heading_to_check():
    """Test that the tour knows the heading of every page in ui/pages.py (a new page needs its row here)."""
    assert {p.path for p in PAGES if p.exists} <= set(HEADINGS)


def _heading(spec_path: str, lang: str) -> str | re.Pattern[str]:
    if spec_path == "app.py":  # "Hello, {name}": any signed-in name
        return re.compile(
            "^" + re.escape(t(HEADINGS[spec_path], lang, name="NAME")).replace("NAME", ".+") + "$"
        )
    return t(HEADINGS[spec_path], lang)


@pytest.mark.parametrize("role", list(USER))
def test_every_menu_page_shows_its_heading_in_both_languages(page: Page, server, role):
    """Test that each page in a role's menu opens from the menu and shows its heading, without an exception, in zh and en."""
    sign_in(page, server, USER[role])
    sidebar = page.get_by_test_id("stSidebar")
    # Administrators also see the pages managers see (home and inbox at least); those are toured as a manager.
    own = [
        p
        for p in pages_for(role)
        if p.in_menu and (not role.is_admin or Role.MANAGER not in p.roles or p.path == "app.py")
    ]
    for lang in ("zh", "en"):
        if lang == "en":
            sidebar.get_by_text("English").click()
            wait_for_run(page)
        for spec in own:
            sidebar.locator(f'[data-testid=stPageLink-NavLink][href="{spec.url_path}"]').click()
            wait_for_run(page)
            expect(page.get_by_role("heading", level=1).first).to_have_text(_heading(spec.path, lang))
            expect(page.get_by_test_id("stException")).to_have_count(0)
            screenshot(page, f"tour-{role.value}-{spec.url_path or 'home'}-{lang}")

"""Every menu page, opened in the real browser by a role that may see it, in Chinese and English: the page
shows its own heading (so the click reached the right page and it rendered), no exception box, no
Content-Security-Policy violation (issue #18 item 7: securitypolicyviolation events and console reports, charts
and maps included), and a screenshot under artifacts/screenshots/ for people to look at. The document response
carries the security headers (core.http_security), and a reload keeps the sign-in (the cookie hand-over, an
inline script the policy allows by its hash, ran)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.i18n import t
from core.models import Role
from core.web_sessions import COOKIE_NAME
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
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
    e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));
"""

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
    """Test that each page in a role's menu opens from the menu and shows its heading, without an exception
    or a CSP violation, in zh and en; that the document carries CSP, X-Frame-Options, nosniff and
    Referrer-Policy; and that a reload keeps the sign-in."""
    console: list[str] = []
    page.on(
        "console",
        lambda m: (
            console.append(m.text) if "Content Security Policy" in m.text or "Refused to" in m.text else None
        ),
    )
    page.add_init_script(LISTEN)
    response = page.goto(server.url)
    assert response is not None
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff")
    assert headers["referrer-policy"] == "same-origin"
    sign_in(page, server, USER[role])
    sidebar = page.get_by_test_id("stSidebar")
    # Administrators also see the pages managers see (home and inbox at least); those are toured as a manager.
    own = [
        p
        for p in pages_for(role)
        if p.in_menu and (not role.is_admin or Role.MANAGER not in p.roles or p.path == "app.py")
    ]
    seen: list[str] = []
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
            seen += [f"/{spec.url_path}: {v}" for v in page.evaluate("window.__csp")]
            page.evaluate("window.__csp = []")
    # The cookie hand-over set the session cookie, and loading a page afresh keeps the sign-in: the worker
    # opens the pages outside the menu (quiz, check-in, notification settings) by their address; the others
    # reload the last page.
    assert any(c["name"] == COOKIE_NAME for c in page.context.cookies()), "the session cookie was not set"
    by_address = [p for p in pages_for(role) if not p.in_menu] if role == Role.WORKER else []
    for spec in by_address or [None]:
        if spec is None:
            page.reload()
        else:
            page.goto(f"{server.url}/{spec.url_path}")
        wait_for_run(page)
        expect(page.locator(".st-key-signin_username")).to_have_count(0)
        expect(sidebar).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        if spec is not None:
            either = re.compile(
                f"^({re.escape(t(HEADINGS[spec.path], 'zh'))}|{re.escape(t(HEADINGS[spec.path], 'en'))})$"
            )
            expect(page.get_by_role("heading", level=1).first).to_have_text(either)
            screenshot(page, f"tour-{role.value}-{spec.url_path}-reload")
        seen += [f"/{spec.url_path if spec else 'reload'}: {v}" for v in page.evaluate("window.__csp")]
    assert not seen, seen
    assert not console, console

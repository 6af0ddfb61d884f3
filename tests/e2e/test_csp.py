"""The app's Content-Security-Policy breaks no page: every page, opened in the real browser by a role that
may open it, renders with no CSP violation (securitypolicyviolation events and console reports), and the
page's own response carries the security headers (core.http_security; issue #18 item 7)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from core.models import Role
from core.web_sessions import COOKIE_NAME
from tests.e2e.conftest import screenshot, sign_in, wait_for_run
from ui.pages import PAGES

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
USER = {
    Role.WORKER: "dp0001",
    Role.MANAGER: "manager",
    Role.SYSADMIN: "admin",
    Role.SECADMIN: "secadmin",
    Role.AUDITOR: "auditor",
}
# Each page once, as the first of these roles that may open it (managers see charts; admins their pages).
ORDER = (Role.MANAGER, Role.WORKER, Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR)
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
    e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));
"""


def _tour() -> dict[Role, list[str]]:
    tour: dict[Role, list[str]] = {r: [] for r in ORDER}
    for spec in PAGES:
        if spec.exists:
            tour[next(r for r in ORDER if r in spec.roles)].append(spec.url_path)
    return tour


@pytest.mark.parametrize("role", ORDER)
def test_every_page_renders_under_the_csp_with_no_violation(page: Page, server, role):
    """Test that each page this role tours shows no exception and reports no CSP violation, and that the
    document response carries CSP, X-Frame-Options, nosniff and Referrer-Policy."""
    console: list[str] = []
    page.on(
        "console",
        lambda m: (
            console.append(m.text) if "Content Security Policy" in m.text or "Refused to" in m.text else None
        ),
    )
    page.add_init_script(LISTEN)
    page.goto(server.url)
    wait_for_run(page)
    expect(page.locator(".st-key-signin_username")).to_have_count(1)  # what "signed out" looks like below
    sign_in(page, server, USER[role])
    # The cookie hand-over (an inline script the policy allows by its hash) has set the session cookie.
    for _ in range(50):
        if any(c["name"] == COOKIE_NAME for c in page.context.cookies()):
            break
        page.wait_for_timeout(100)
    assert any(c["name"] == COOKIE_NAME for c in page.context.cookies()), "the session cookie was not set"
    seen: list[str] = []
    for path in _tour()[role]:
        response = page.goto(f"{server.url}/{path}")
        assert response is not None
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff")
        assert headers["referrer-policy"] == "same-origin"
        wait_for_run(page)
        page.wait_for_timeout(600)  # charts (vega) draw after the run
        expect(page.get_by_test_id("stException")).to_have_count(0)
        # Still signed in after the reload: the cookie hand-over script ran under the policy.
        expect(page.locator(".st-key-signin_username"), path).to_have_count(0)
        expect(page.get_by_test_id("stSidebar")).to_be_visible()
        seen += [f"/{path}: {v}" for v in page.evaluate("window.__csp")]
        if path in ("", "scorecards", "users", "audit"):  # charts and tables drawn under the policy: look
            screenshot(page, f"csp-{role.value}-{path or 'home'}")
    assert not seen, seen
    assert not console, console

"""The second factor in the real pages (AppTest): a required role is sent from the password to setting one up
(QR code, key, first code, recovery codes once) and can do nothing else before; the next sign-in asks for the
code, refuses a wrong one with the one answer, and opens the session only after the step; a session opened
without the step is not accepted; the account page offers the set-up to anyone."""

from __future__ import annotations

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core.db import get_engine, unit_of_work
from core.i18n import t
from core.models import User
from core.scope import viewer_for
from core.settings import ROOT
from core.totp import current_step, totp
from core.web_sessions import open_session
from tests.app.util import texts
from ui.second_factor import RECOVERY_KEY
from ui.session_cookie import PENDING_KEY
from ui.state import VIEWER_KEY


def _password(at, username: str = "admin") -> None:
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input("Demo@2020")
    at.button[0].click().run()


def _secret(at) -> str:
    return next(c.value for c in at.code).replace(" ", "")


def test_an_administrator_sets_up_the_second_factor_then_signs_in_with_a_code(open_page, app_db):
    """Test the enrolment right after the password (nothing else reachable, no session yet), the recovery
    codes shown once, and a later sign-in that refuses a wrong code and opens the session after a right one."""
    at = open_page(None, lang="en")
    _password(at)
    assert not at.exception, at.exception
    assert t("auth.mfa_enrol_title", "en") in texts(at) and len(_secret(at)) == 32
    assert VIEWER_KEY not in at.session_state  # no session before the step
    secret = _secret(at)
    at.switch_page("pages/users.py").run()  # nothing else before the set-up: the step again
    assert t("auth.mfa_enrol_title", "en") in texts(at) and VIEWER_KEY not in at.session_state
    first = totp(secret, current_step() - 1)
    at.text_input(key="mfa_first_code").input(first)
    at.button(key="FormSubmitter:mfa_enrol-Confirm and turn on").click().run()
    assert not at.exception, at.exception
    assert RECOVERY_KEY in at.session_state, (texts(at), [b.key for b in at.button])
    codes = at.session_state[RECOVERY_KEY]
    assert (
        len(codes) == 10 and codes[0] in at.code[0].value and t("auth.mfa_recovery_title", "en") in texts(at)
    )
    at.button(key="mfa_codes_kept").click().run()
    assert RECOVERY_KEY not in at.session_state and at.session_state[VIEWER_KEY].role.value == "sysadmin"

    again = open_page(None, lang="en")
    _password(again)
    assert t("auth.mfa_title", "en") in texts(again) and PENDING_KEY in again.session_state
    for wrong in ("12345", first):  # a wrong shape, then the spent code
        again.text_input(key="mfa_code").input(wrong)
        again.button(key="FormSubmitter:second_factor-Verify").click().run()
        assert t("auth.mfa_bad_code", "en") in texts(again) and VIEWER_KEY not in again.session_state
    again.text_input(key="mfa_code").input(totp(secret, current_step() + 1))
    again.button(key="FormSubmitter:second_factor-Verify").click().run()
    assert not again.exception and again.session_state[VIEWER_KEY].role.value == "sysadmin"

    third = open_page(None, lang="en")
    _password(third)
    third.text_input(key="mfa_code").input(codes[3])
    third.button(key="FormSubmitter:second_factor-Verify").click().run()
    assert third.session_state[VIEWER_KEY].role.value == "sysadmin"


def test_a_session_opened_without_the_step_does_not_sign_an_administrator_in(open_page, app_db):
    """Test that an administrator's session opened by the password alone (a reload's cookie, or a session
    from before the requirement) gives the sign-in form, not the page."""
    with unit_of_work(get_engine(app_db)) as s:
        admin = s.exec(select(User).where(User.username == "secadmin")).one()
        row, _ = open_session(s, admin)  # via "password": no second factor
        session_id = row.id
    with Session(get_engine(app_db)) as s:
        viewer = viewer_for(s, s.exec(select(User).where(User.username == "secadmin")).one())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["viewer"] = viewer
    at.session_state["web_session_id"] = session_id
    at.run()
    assert not at.exception
    assert len(at.text_input) == 2 and t("signin.second_factor_signed_out", "zh") in texts(at)


def test_the_account_page_offers_the_set_up_to_a_worker(open_page, viewer_of):
    """Test that a worker (not required) sees the second factor off and a button that shows the QR code."""
    at = open_page("pages/account.py", viewer_of("dp0001"), lang="en")
    assert t("auth.mfa_status_off", "en") in texts(at)
    at.button(key="mfa_start").click().run()
    assert not at.exception and len(_secret(at)) == 32

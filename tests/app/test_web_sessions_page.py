"""Browser-session rules (issues #7, #12): sign-out forgets everything, idle sessions end, demo accounts are
listed only on a demo database, and a real installation starts with no account of a known password."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core import clock
from core.auth import SecondStep, sign_in
from core.db import get_engine, make_engine, unit_of_work
from core.demo import DEMO_PASSWORD
from core.models import User
from core.models_audit import AuditEntry
from core.models_web_sessions import WebSession
from core.settings import ROOT, get_settings
from ui.state import LANG_KEY, SESSION_KEY, VIEWER_KEY

pytestmark = pytest.mark.xdist_group("apptest")


def _signin_form_shown(at: AppTest) -> bool:
    return any(w.key == "signin_username" for w in at.text_input)


def test_sign_out_forgets_everything_but_the_language(open_page, viewer_of):
    """Test that the sidebar's sign-out drops the viewer and every page's state, keeping only the language."""
    at = open_page("pages/scorecards.py", viewer_of("manager"), lang="en")
    assert not at.exception and not _signin_form_shown(at)
    at.session_state["scorecard_period"] = "2020-06"  # something a page remembered
    button = next(b for b in at.sidebar.button if b.label == "Sign out")
    button.click().run()
    assert _signin_form_shown(at)
    assert VIEWER_KEY not in at.session_state and "scorecard_period" not in at.session_state
    assert at.session_state[LANG_KEY] == "en"


def _age_session(at: AppTest, **fields: object) -> None:
    """Move this AppTest's server-side session back in time (its row in the demo database copy)."""
    with unit_of_work(get_engine(get_settings().database_url)) as s:
        row = s.get(WebSession, at.session_state[SESSION_KEY])
        for name, value in fields.items():
            setattr(row, name, value)
        s.add(row)


def test_an_idle_session_is_signed_out(open_page, viewer_of):
    """Test that a session unseen for longer than the idle limit shows the sign-in form with a note, and one
    seen just inside the limit stays signed in."""
    limit = get_settings().session_idle_minutes
    at = open_page(None, viewer_of("manager"), lang="en")
    assert not _signin_form_shown(at)
    _age_session(at, last_seen_at=clock.now() - timedelta(minutes=limit - 1))
    at.run()
    assert not _signin_form_shown(at)
    _age_session(at, last_seen_at=clock.now() - timedelta(minutes=limit + 1))
    at.run()
    assert _signin_form_shown(at)
    assert any("inactivity" in i.value for i in at.info)
    assert VIEWER_KEY not in at.session_state


def test_a_session_past_its_absolute_lifetime_is_signed_out_however_active(open_page, viewer_of):
    """Test that an active session whose absolute end has passed shows the sign-in form with a time-limit note."""
    at = open_page(None, viewer_of("manager"), lang="en")
    _age_session(at, expires_at=clock.now() - timedelta(seconds=1))
    at.run()
    assert _signin_form_shown(at)
    assert any("time limit" in i.value for i in at.info)


def test_signing_in_opens_a_server_side_session_and_sign_out_revokes_it(open_page):
    """Test that the sign-in form opens a session row (audited) and the sidebar's sign-out revokes it."""
    at = open_page(None, lang="en")
    at.text_input(key="signin_username").input("manager")
    at.text_input(key="signin_password").input(DEMO_PASSWORD)
    at.button[0].click().run()
    assert not _signin_form_shown(at)
    session_id = at.session_state[SESSION_KEY]
    next(b for b in at.sidebar.button if b.label == "Sign out").click().run()
    assert _signin_form_shown(at)
    with Session(get_engine(get_settings().database_url)) as s:
        row = s.get(WebSession, session_id)
        assert row.revoked_reason == "signout" and row.token_hash is None
        actions = [
            e.action for e in s.exec(select(AuditEntry).where(AuditEntry.entity_id == str(session_id)))
        ]
    assert actions == ["session.start", "session.end"]


def test_an_admin_ends_a_session_from_the_sessions_page_and_that_browser_is_signed_out(open_page, viewer_of):
    """Test that the security administrator's sessions page lists a manager's session, ending it signs the manager out at their
    next action, with a note."""
    manager = open_page(None, viewer_of("manager"), lang="en")
    admin = open_page("pages/web_sessions.py", viewer_of("secadmin"), lang="en")
    assert not admin.exception
    table = admin.dataframe[0].value
    assert "manager" in table["Username"].tolist() and table["This browser"].sum() == 1
    with unit_of_work(get_engine(get_settings().database_url)) as s:  # the page's action, as one domain call
        from core.web_sessions import revoke_sessions

        assert revoke_sessions(s, viewer_of("secadmin"), [manager.session_state[SESSION_KEY]]) == 1
    manager.run()
    assert _signin_form_shown(manager)
    assert any("signed out" in i.value for i in manager.info)


def test_demo_accounts_are_listed_on_the_demo_database(open_page):
    """Test that the sign-in page of the demo district lists its accounts (with the password to try)."""
    at = open_page(None, lang="en")
    assert _signin_form_shown(at)
    assert [e for e in at.expander if e.label == "Demo accounts"]
    assert "admin" in at.dataframe[0].value.iloc[:, 0].tolist()


def test_a_real_installation_lists_no_accounts_and_knows_no_password(tmp_path, monkeypatch):
    """Test that a migrated, non-demo database with an admin from `gridwise create-admin` shows no demo
    accounts, and that none of the demo passwords opens any account."""
    url = f"sqlite:///{tmp_path / 'real.db'}"
    env = {"GRIDWISE_DATABASE_URL": url, "GRIDWISE_SCHEDULER_ENABLED": "false", "PATH": "/usr/bin:/bin"}
    gridwise = [sys.executable, "-m", "core.cli"]
    subprocess.run([*gridwise, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(
        [*gridwise, "create-admin", "chief", "--password-stdin"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        input="A long secret phrase 7\n",
        text=True,
    )
    monkeypatch.setenv("GRIDWISE_DATABASE_URL", url)
    monkeypatch.setenv("GRIDWISE_SCHEDULER_ENABLED", "false")
    get_settings.cache_clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.session_state["lang"] = "en"
        at.run()
        assert _signin_form_shown(at)
        assert not [e for e in at.expander if e.label == "Demo accounts"] and not at.dataframe
    finally:
        get_engine(url).dispose()
        get_settings.cache_clear()
    engine = make_engine(url)
    with Session(engine) as s:
        users = s.exec(select(User)).all()
        assert [u.username for u in users] == ["chief"] and not users[0].is_demo
        for guess in (DEMO_PASSWORD, "admin", "password", "12345678"):  # fewer than the lockout threshold
            assert not sign_in(s, "chief", guess).ok
        right = sign_in(s, "chief", "A long secret phrase 7")
        # The password is right; a system administrator then enrols a second factor before any session.
        assert right.pending and right.second_step is SecondStep.ENROL
    engine.dispose()

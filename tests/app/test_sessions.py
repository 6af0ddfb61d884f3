"""Browser-session rules (issue #7): sign-out forgets everything, idle sessions end, demo accounts are
listed only on a demo database, and a real installation starts with no account of a known password."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from core import clock
from core.auth import sign_in
from core.db import get_engine, make_engine
from core.demo import DEMO_PASSWORD
from core.models import User
from core.settings import ROOT, get_settings
from ui.state import LANG_KEY, SEEN_KEY, VIEWER_KEY

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


def test_an_idle_session_is_signed_out(open_page, viewer_of):
    """Test that a session unseen for longer than the idle limit shows the sign-in form with a note, and one
    seen just inside the limit stays signed in."""
    limit = get_settings().session_idle_minutes
    at = open_page(None, viewer_of("manager"), lang="en")
    assert not _signin_form_shown(at)
    at.session_state[SEEN_KEY] = clock.now() - timedelta(minutes=limit - 1)
    at.run()
    assert not _signin_form_shown(at)
    at.session_state[SEEN_KEY] = clock.now() - timedelta(minutes=limit + 1)
    at.run()
    assert _signin_form_shown(at)
    assert any("inactivity" in i.value for i in at.info)
    assert VIEWER_KEY not in at.session_state


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
    subprocess.run([*gridwise, "create-admin", "chief", "--password-stdin"], env=env, cwd=ROOT, check=True,
                   capture_output=True, input="a long secret phrase\n", text=True)
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
        assert sign_in(s, "chief", "a long secret phrase").ok
    engine.dispose()

"""AppTest fixtures: the real pages, run in-process against a private copy of the demo database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache

import pytest
from sqlmodel import Session, select
from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from core.db import get_engine, unit_of_work
from core.models import User
from core.scope import Viewer, viewer_for
from core.settings import ROOT, get_settings
from core.web_sessions import open_session

# AppTest runs scripts in this process; all of its tests share one xdist worker so that Streamlit's
# process-wide caches never see two databases at once.
pytestmark = pytest.mark.xdist_group("apptest")


@pytest.fixture(scope="session", autouse=True)
def _component_scan_once() -> Iterator[None]:
    """Scan the installed packages for Streamlit components once per process, not once per AppTest.

    Every new AppTest reads the metadata of every installed distribution looking for v2 component manifests
    (0.12 s of CPU each, most of a small page's run); the packages installed do not change during a run."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            manifest_scanner, "scan_component_manifests", cache(manifest_scanner.scan_component_manifests)
        )
        yield


@pytest.fixture
def app_db(demo_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("GRIDWISE_DATABASE_URL", demo_db_url)
    monkeypatch.setenv("GRIDWISE_SCHEDULER_ENABLED", "false")
    get_settings.cache_clear()
    yield demo_db_url
    get_engine(demo_db_url).dispose()
    get_settings.cache_clear()


@pytest.fixture
def viewer_of(app_db: str) -> Callable[[str], Viewer]:
    """The Viewer for a demo username (admin, manager, xiasha, dp0001, …)."""

    def _viewer(username: str) -> Viewer:
        with Session(get_engine(app_db)) as s:
            user = s.exec(select(User).where(User.username == username)).one()
            return viewer_for(s, user)

    return _viewer


@pytest.fixture
def open_page(app_db: str) -> Callable[..., AppTest]:
    """Run app.py signed in as ``viewer`` (or nobody), then switch to ``page`` if given."""

    def _open(page: str | None = None, viewer: Viewer | None = None, lang: str = "zh") -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.session_state["lang"] = lang
        if viewer is not None:  # signed in as the sign-in form would: a server-side session, cached in state
            # (opened after the second step, as it is for an administrator, who must pass it: "+mfa")
            with unit_of_work(get_engine(app_db)) as s:
                row, _code = open_session(
                    s, s.get(User, viewer.user_id), user_agent="AppTest", via="password+mfa"
                )
            at.session_state["viewer"] = viewer
            at.session_state["web_session_id"] = row.id
        # Straight to the page: without st.navigation, Streamlit knows a pages/ file by its name before
        # the first run, so the home page need not run first (it would cost a whole run per test).
        if page is not None and page != "app.py":
            at.switch_page(page)
        return at.run()

    return _open

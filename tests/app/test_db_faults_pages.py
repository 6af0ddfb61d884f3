"""A busy or unreachable database on a page: a plain message in the user's language, never a traceback
(issue #7; the handler is installed by ui.guard.require for every page)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url

from core.i18n import t
from core.settings import get_settings
from tests.app.util import texts

pytestmark = pytest.mark.xdist_group("apptest")


def _sign_in(at, username: str, password: str) -> None:  # noqa: ANN001 - AppTest
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    next(b for b in at.button if b.label == t("signin.submit", at.session_state["lang"])).click().run()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_signing_in_while_another_process_holds_the_write_lock_says_busy(
    open_page, app_db, monkeypatch, lang
):
    """Test that a sign-in (which writes) meeting a held SQLite write lock shows the busy message, no traceback,
    and that the same sign-in works once the lock is gone."""
    monkeypatch.setenv("GRIDWISE_SQLITE_BUSY_TIMEOUT_MS", "300")
    get_settings.cache_clear()
    at = open_page(lang=lang)
    holder = sqlite3.connect(make_url(app_db).database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process is writing (an import, a job)
        _sign_in(at, "manager", "not-the-password")
        assert not at.exception, [e.value for e in at.exception]
        assert [e.value for e in at.error] == [t("common.db_busy", lang)]
    finally:
        holder.rollback()
        holder.close()
    _sign_in(at, "manager", "not-the-password")
    assert not at.exception
    assert t("common.db_busy", lang) not in texts(at)
    # the ordinary wrong-password answer: the refused attempt was not counted
    assert [e.value for e in at.error] == [t("signin.error.bad_credentials", lang)]


def test_an_unreachable_database_server_shows_a_message_not_a_traceback(open_page, app_db, monkeypatch):
    """Test that a page whose PostgreSQL server refuses connections says so in plain words."""
    monkeypatch.setenv(
        "GRIDWISE_DATABASE_URL", "postgresql+psycopg://gridwise@127.0.0.1:9/nowhere?connect_timeout=2"
    )
    get_settings.cache_clear()
    at = open_page(lang="en")
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [t("common.db_unavailable", "en")]

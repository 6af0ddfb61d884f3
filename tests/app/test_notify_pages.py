"""The notification pages: an administrator adds a channel and sees it masked; a worker saves preferences."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from core.db import get_engine
from core.models_audit import AuditEntry
from core.notify.models import NotifyPreference
from core.settings import get_settings
from tests.app.util import texts

KEY = "abcdef0123456789abcdef0123456789"


@pytest.fixture
def secret_env(app_db, monkeypatch):
    monkeypatch.setenv("GRIDWISE_SECRET_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    yield app_db
    get_settings.cache_clear()


def test_channels_page_starts_empty_and_adds_a_masked_channel(open_page, viewer_of, secret_env):
    """Test that with no channel the page says so, and an added WeCom robot is listed with its key masked,
    with an audit entry."""
    # zh: AppTest calls a selectbox's format_func outside the script run, where the session language is zh
    at = open_page("pages/notify_channels.py", viewer_of("admin"))
    assert not at.exception
    assert "还没有通知渠道" in texts(at)
    at.text_input[0].input("Xiasha group")
    at.text_input[1].input(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    assert list(shown["名称"]) == ["Xiasha group"]
    assert shown["地址(已隐藏密钥)"].iloc[0].endswith("key=abc…89") and KEY not in texts(at)
    with Session(get_engine(secret_env)) as s:
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "notify.channel.add")).first() is not None


def test_channels_page_without_a_secret_key_explains_how_to_make_one(open_page, viewer_of, monkeypatch):
    """Test that adding a channel with GRIDWISE_SECRET_KEY unset shows the zh message naming the setting."""
    monkeypatch.delenv("GRIDWISE_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    at = open_page("pages/notify_channels.py", viewer_of("admin"))
    at.text_input[0].input("下沙社区群")
    at.text_input[1].input(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}")
    at.button[0].click().run()
    assert not at.exception
    assert any("GRIDWISE_SECRET_KEY" in e.value for e in at.error)


def test_a_worker_saves_quiet_hours_and_an_email(open_page, viewer_of, app_db):
    """Test that a worker's notification settings are saved from the settings page."""
    v = viewer_of("dp0001")
    at = open_page("pages/notify_prefs.py", v, lang="en")
    assert not at.exception and "Notification settings" in texts(at)
    at.text_input[0].input("dp0001@example.org")
    at.button[0].click().run()
    assert not at.exception and "Saved" in texts(at)
    with Session(get_engine(app_db)) as s:
        pref = s.get(NotifyPreference, v.user_id)
        assert (pref.email, pref.quiet_start, pref.quiet_end) == ("dp0001@example.org", "22:00", "07:00")


def test_a_bad_email_is_refused_on_the_settings_page(open_page, viewer_of):
    """Test that an address without @ is refused with a message naming it."""
    at = open_page("pages/notify_prefs.py", viewer_of("dp0001"), lang="en")
    at.text_input[0].input("not-an-address")
    at.button[0].click().run()
    assert any("not-an-address" in e.value for e in at.error)

"""The notification pages: an administrator adds a channel and sees it masked; a worker saves preferences."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from core.db import get_engine
from core.models import User
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
    assert shown["地址（已隐藏密钥）"].iloc[0].endswith("key=abc…89") and KEY not in texts(at)
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


def test_channels_page_without_a_key_says_so_before_typing_and_keeps_the_form(
    open_page, viewer_of, monkeypatch
):
    """Test that with no GRIDWISE_SECRET_KEY the page says, in an office worker's words and before anything is
    typed, that a key must be set by the system administrator, and that a refused add keeps what was typed."""
    monkeypatch.delenv("GRIDWISE_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    at = open_page("pages/notify_channels.py", viewer_of("admin"))
    assert any("联系系统管理员" in w.value and "不会丢失" in w.value for w in at.warning), texts(at)
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
    at.text_input[0].input("下沙社区群")
    at.text_input[1].input(url)
    at.button[0].click().run()
    assert at.error
    assert at.text_input[0].value == "下沙社区群" and at.text_input[1].value == url


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


def _two_community_channels(app_db: str) -> tuple[int, int]:
    """A robot for 下沙 (the demo manager xiasha's community) and one for another community."""
    from core.db import unit_of_work
    from core.models import OrgUnit
    from core.notify.channels import add_channel
    from core.scope import SYSTEM

    with unit_of_work(get_engine(app_db)) as s:
        xiasha = s.exec(select(User).where(User.username == "xiasha")).one().scope_unit_id
        other = s.exec(select(OrgUnit).where(OrgUnit.level == "community", OrgUnit.id != xiasha)).first()
        own = add_channel(
            s,
            SYSTEM,
            kind="wecom",
            name="下沙社区群",
            url=f"http://127.0.0.1:9/cgi-bin/webhook/send?key={KEY}",
            owner_unit_id=xiasha,
        )
        foreign = add_channel(
            s,
            SYSTEM,
            kind="wecom",
            name="Other community group",
            url=f"http://127.0.0.1:9/cgi-bin/webhook/send?key={KEY}",
            owner_unit_id=other.id,
        )
        return int(own.id), int(foreign.id)


def test_a_community_manager_sees_and_edits_only_their_communitys_channels(open_page, viewer_of, secret_env):
    """Test that the xiasha community manager opens the channels page, is shown only 下沙's robot (in the
    table and the channel picker), renames it and changes its key, and never sees the other community's."""
    own, foreign = _two_community_channels(secret_env)
    at = open_page("pages/notify_channels.py", viewer_of("xiasha"))  # zh: see the first test
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["名称"]) == ["下沙社区群"]
    assert at.selectbox[0].options == ["下沙社区群"] and "Other community group" not in texts(at)
    name_box = next(w for w in at.text_input if w.value == "下沙社区群")
    name_box.input("下沙社区网格群")
    url_box = next(w for w in at.text_input if w.label.startswith("新的 Webhook"))
    url_box.input("http://127.0.0.1:9/cgi-bin/webhook/send?key=newKEY0123456789abcdef")
    next(b for b in at.button if b.label == "保存修改").click().run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["名称"]) == [
        "下沙社区网格群"
    ] and "newKEY0123456789abcdef" not in texts(at)
    with Session(get_engine(secret_env)) as s:
        from core.notify.models import NotifyChannel

        assert s.get(NotifyChannel, foreign).name == "Other community group"
        assert s.get(NotifyChannel, own).url_hint.endswith("key=new…ef")
        edit = s.exec(select(AuditEntry).where(AuditEntry.action == "notify.channel.edit")).one()
        assert (
            edit.username == viewer_of("xiasha").display_name and "newKEY" not in f"{edit.after}{edit.detail}"
        )


def test_a_worker_cannot_open_the_channels_page(open_page, viewer_of, secret_env):
    """Test that the channels page stays closed to a worker (managers and administrators only)."""
    at = open_page("pages/notify_channels.py", viewer_of("dp0001"), lang="en")
    assert not at.dataframe and "Notification channels" not in [t.value for t in at.title]


def test_a_channel_whose_last_send_failed_does_not_read_as_working(open_page, viewer_of, secret_env):
    """Test that a channel whose last send failed after its last success (a network error, given up) shows
    that in its status, not 正常, and reads 正常 again once a later send succeeded."""
    from datetime import datetime

    from core.db import unit_of_work
    from core.notify.models import NotifyChannel

    own, _ = _two_community_channels(secret_env)
    with unit_of_work(get_engine(secret_env)) as s:
        channel = s.get(NotifyChannel, own)
        channel.last_sent_at = datetime(2020, 6, 1, 9, 0)
        channel.last_error, channel.last_error_at = "network: timed out", datetime(2020, 6, 2, 10, 30)
    at = open_page("pages/notify_channels.py", viewer_of("xiasha"))
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["状态"]) == ["最近一次发送失败（06-02 10:30），见发送记录"]
    with unit_of_work(get_engine(secret_env)) as s:
        s.get(NotifyChannel, own).last_sent_at = datetime(2020, 6, 3, 8, 0)
    at = open_page("pages/notify_channels.py", viewer_of("xiasha"))
    assert list(at.dataframe[0].value["状态"]) == ["正常"]

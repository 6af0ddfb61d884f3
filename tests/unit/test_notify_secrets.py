"""Channel secrets: encrypted at rest with GRIDWISE_SECRET_KEY, a clear error without it, and never shown in
full on a page, in the audit trail or in the logs. Also the small pure rules: masks, quiet hours, links."""

from __future__ import annotations

import logging
import re
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from core.models_audit import AuditEntry
from core.notify.channels import add_channel, channels_frame
from core.notify.crypto import SecretKeyError, mask, mask_url
from core.notify.outbox import deliver_due
from core.notify.prefs import quiet_until, save_preference
from core.notify.providers import absolute_link, render_template
from core.scope import SYSTEM
from core.settings import get_settings
from tests.unit._notify_fakes import KEY, SECRET, TOKEN, FakeRobot
from tests.unit._notify_world import NOW, make_world, post, secret_key  # noqa: F401


def test_storing_a_secret_without_a_key_is_a_clear_error(session, monkeypatch):
    """Test that adding a channel with no GRIDWISE_SECRET_KEY fails saying which setting and how to make one."""
    monkeypatch.delenv("GRIDWISE_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(SecretKeyError) as err:
            add_channel(
                session, SYSTEM, kind="wecom", name="g", url=f"https://qyapi.weixin.qq.com/x?key={KEY}"
            )
        assert "GRIDWISE_SECRET_KEY" in str(err.value) and "Fernet.generate_key()" in str(err.value)
        assert "GRIDWISE_SECRET_KEY" in err.value.message("zh")
        monkeypatch.setenv("GRIDWISE_SECRET_KEY", "not-a-fernet-key")
        get_settings.cache_clear()
        with pytest.raises(SecretKeyError, match="not a valid Fernet key"):
            add_channel(
                session, SYSTEM, kind="wecom", name="g", url=f"https://qyapi.weixin.qq.com/x?key={KEY}"
            )
    finally:
        get_settings.cache_clear()


def test_keys_and_secrets_are_encrypted_at_rest_and_shown_only_masked(
    session,
    engine,
    secret_key,  # noqa: F811
    httpserver,
    caplog,
):
    """Test that neither the robot's token nor its signing secret appears in the database in clear, in the
    channel list, in the audit entry, or in the log when a send fails."""
    world = make_world(session)
    robot = FakeRobot("dingtalk", secret="another-secret-xyz").install(httpserver)  # so the signature fails
    add_channel(
        session,
        SYSTEM,
        kind="dingtalk",
        name="A ding",
        url=robot.url(httpserver),
        secret=SECRET,
        owner_unit_id=world.org.comm_a.id,
    )
    session.commit()
    post(session, world.workers["A00"], "r1")
    with caplog.at_level(logging.DEBUG):
        deliver_due(engine, now=NOW)
    assert robot.refused == [(310000, "sign not match")]
    with engine.connect() as conn:
        raw = " ".join(str(v) for row in conn.execute(text("SELECT * FROM notify_channel")) for v in row)
        raw += " ".join(str(v) for row in conn.execute(text("SELECT * FROM notify_delivery")) for v in row)
    shown = channels_frame(session, SYSTEM).to_string()
    audit = " ".join(f"{e.before} {e.after} {e.detail}" for e in session.exec(select(AuditEntry)).all())
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name != "werkzeug"
    )  # not the fake's access log
    assert "310000" in ours
    for place, content in (("database", raw), ("page", shown), ("audit", audit), ("log", ours)):
        assert TOKEN not in content and SECRET not in content, place
    assert "TOK" not in shown and "din…ef" in shown  # the masked token: first three and last two characters


def test_an_smtp_password_in_the_url_moves_to_the_encrypted_secret(session, secret_key):  # noqa: F811
    """Test that smtp+starttls://user:pass@host keeps the password out of the stored URL and its hint."""
    ch = add_channel(
        session,
        SYSTEM,
        kind="email",
        name="mail",
        url="smtp+starttls://grid:p4ssw0rd-long@mail.example.org:587?from=n@example.org",
    )
    assert "p4ssw0rd" not in ch.url_hint and ch.secret_hint == "p4s…ng"
    assert ch.url_hint == "smtp+starttls://grid@mail.example.org:587?from=n@example.org"


@pytest.mark.parametrize(
    ("kind", "url", "template", "problem"),
    [
        ("sms", "https://x.org", "", "channel kind must be one of"),
        ("wecom", "ftp://x.org/hook", "", r"needs an http\(s\) URL"),
        ("email", "https://mail.example.org", "", r"smtp\+starttls://"),
        ("webhook", "https://x.org", '{"to": {mobile}}', "not JSON once filled in"),
    ],
)
def test_bad_channel_input_says_what_is_wrong(session, secret_key, kind, url, template, problem):  # noqa: F811
    """Test that a wrong kind, URL scheme or body template is refused with a message naming it."""
    with pytest.raises(ValueError, match=problem):
        add_channel(session, SYSTEM, kind=kind, name="x", url=url, template=template)


def test_a_channel_name_is_unique(session, secret_key):  # noqa: F811
    """Test that a second channel with the same name is refused."""
    add_channel(session, SYSTEM, kind="wecom", name="g", url="https://q.example.org/send?key=abc")
    with pytest.raises(ValueError, match="exists already"):
        add_channel(session, SYSTEM, kind="wecom", name="g", url="https://q.example.org/send?key=def")


def test_masks():
    """Test that masks keep a hint and hide the rest."""
    assert mask("SECabcdef123456") == "SEC…56" and mask("short") == "…" and mask("") == ""
    assert (
        mask_url(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}")
        == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wec…ef"
    )
    assert (
        mask_url("https://open.feishu.cn/open-apis/bot/v2/hook/abcdef0123456789abcd")
        == "https://open.feishu.cn/open-apis/bot/v2/hook/abc…cd"
    )


@pytest.mark.parametrize(
    ("start", "end", "at", "until"),
    [
        ("22:00", "07:00", datetime(2026, 3, 2, 23, 0), datetime(2026, 3, 3, 7, 0)),
        ("22:00", "07:00", datetime(2026, 3, 3, 6, 59), datetime(2026, 3, 3, 7, 0)),
        ("22:00", "07:00", datetime(2026, 3, 3, 7, 0), None),
        ("22:00", "07:00", datetime(2026, 3, 2, 21, 59), None),
        ("12:00", "14:00", datetime(2026, 3, 2, 13, 0), datetime(2026, 3, 2, 14, 0)),
        ("", "", datetime(2026, 3, 2, 23, 0), None),
    ],
)
def test_quiet_hours_window(start, end, at, until):
    """Test quiet hours across midnight and within a day, and none."""
    assert quiet_until(start, end, at) == until


def test_preferences_refuse_bad_input(session, secret_key):  # noqa: F811
    """Test that a bad time, email or mobile is refused with a message naming it."""
    world = make_world(session)
    v = world.viewer(session, world.workers["A00"])
    for kw, problem in (
        ({"quiet_start": "25:00"}, "quiet hours start"),
        ({"email": "nobody"}, "email address"),
        ({"mobile": "12ab"}, "mobile number"),
        ({"quiet_end": ""}, "both a start and an end"),
    ):
        args = {"language": "zh", "quiet_start": "22:00", "quiet_end": "07:00", **kw}
        with pytest.raises(ValueError, match=re.compile(problem, re.IGNORECASE)):
            save_preference(session, v, **args)


def test_links_point_at_the_page_under_the_base_url(monkeypatch):
    """Test that a page path becomes <GRIDWISE_BASE_URL>/<page> with its query, and nothing without a base URL."""
    monkeypatch.setenv("GRIDWISE_BASE_URL", "https://grid.example.org/")
    get_settings.cache_clear()
    try:
        assert absolute_link("pages/checkin.py?session=3") == "https://grid.example.org/checkin?session=3"
        assert absolute_link("app.py") == absolute_link("") == "https://grid.example.org/"
        monkeypatch.delenv("GRIDWISE_BASE_URL")
        get_settings.cache_clear()
        assert absolute_link("pages/checkin.py") == ""
    finally:
        get_settings.cache_clear()


def test_template_values_are_json_escaped():
    """Test that quotes and newlines in a message cannot break the gateway's JSON body."""
    assert render_template('{"t": "{text}"}', {"text": 'a "b"\nc'}) == {"t": 'a "b"\nc'}


def test_a_failed_test_message_is_said_in_plain_words():
    """Test that a test message that could not reach the service is explained without the raw socket error
    and without promising a retry."""
    from core.notify.channels import reason_text

    now = reason_text("network", "zh", now=True)
    assert "重试" not in now and "地址" in now
    assert "retried" not in reason_text("network", "en", now=True)


def test_a_reason_is_in_the_readers_language_only():
    """Test that no failure reason carries the provider's words: a Chinese reason has no English in it (the
    provider's text is kept in the delivery's last_error and shown apart, labelled as theirs)."""
    from core.notify.channels import last_error_kind, reason_text

    for kind in ("network", "rate_limited", "config", "refused", "bad_address", "lost"):
        for now, final in ((False, False), (True, False), (False, True)):
            zh = reason_text(kind, "zh", now=now, final=final)
            assert zh and not re.search(r"[A-Za-z]{3,}", zh.replace("IP", "")), zh
            assert not re.search(r"[\u4e00-\u9fff]", reason_text(kind, "en", now=now, final=final))
    assert last_error_kind("refused: errcode 93000 invalid webhook url") == "refused"
    assert last_error_kind("") == ""


def test_a_given_up_delivery_does_not_promise_a_retry():
    """Test that the reason beside 已放弃 in the delivery log does not say it will be retried later."""
    from core.notify.channels import reason_text

    assert "稍后自动重试" in reason_text("network", "zh")
    assert "稍后自动重试" not in reason_text("network", "zh", final=True)
    assert "已放弃" in reason_text("network", "zh", final=True)

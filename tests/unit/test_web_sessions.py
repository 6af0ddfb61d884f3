"""Server-side sign-in sessions (core.web_sessions): one-time codes, tokens stored hashed, idle and absolute
limits, and every way a session ends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import func, select

from core.auth import change_own_password, hash_password
from core.models import OrgLevel, Role, User
from core.models_audit import AuditEntry
from core.models_web_sessions import WebSession
from core.scope import ScopeError, Viewer, viewer_for
from core.settings import get_settings
from core.users import reset_password, update_user
from core.web_sessions import (
    active_sessions,
    check_session,
    device,
    end_session,
    open_session,
    redeem_code,
    revoke_sessions,
    user_for_identity,
)
from tests.factories import make_org, make_user

NOW = datetime(2020, 6, 1, 9, 0)


def _signed_in(session, user, now=NOW) -> tuple[int, str]:
    """Open a session and redeem its code, as the browser does; return (session id, cookie token)."""
    row, code = open_session(
        session, user, user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/120.0", now=now
    )
    token = redeem_code(session, code, now=now + timedelta(seconds=2))
    session.commit()
    assert token is not None
    return row.id, token


def _actions(session) -> list[str]:
    return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_code_gives_one_token_once_and_only_hashes_are_stored(session):
    """Test that a sign-in's code is redeemed for a token once, and the database holds neither value."""
    user = make_user(session, "lee", hash_password("right-password"))
    row, code = open_session(session, user, now=NOW)
    token = redeem_code(session, code, now=NOW + timedelta(seconds=5))
    assert token and redeem_code(session, code, now=NOW + timedelta(seconds=6)) is None
    stored = session.get(WebSession, row.id)
    assert token not in (stored.token_hash, stored.code_hash) and stored.code_hash is None
    assert check_session(session, token=token, now=NOW + timedelta(minutes=1)).user.id == user.id
    assert not check_session(session, token="made-up", now=NOW).ok


def test_a_late_or_unknown_code_gives_nothing(session):
    """Test that a code redeemed after its minute, or a made-up one, sets no cookie."""
    user = make_user(session, "lee", hash_password("right-password"))
    _row, code = open_session(session, user, now=NOW)
    assert redeem_code(session, code, now=NOW + timedelta(seconds=61)) is None
    assert redeem_code(session, "guess", now=NOW) is None and redeem_code(session, "", now=NOW) is None


def test_an_idle_session_ends_and_an_active_one_is_kept_alive(session):
    """Test that activity within the idle limit keeps a session, a longer silence ends it (audited)."""
    idle = get_settings().session_idle_minutes
    user = make_user(session, "lee", hash_password("right-password"))
    sid, token = _signed_in(session, user)
    later = NOW + timedelta(minutes=idle - 1)
    assert check_session(session, session_id=sid, now=later).ok
    assert check_session(session, token=token, now=later + timedelta(minutes=idle - 1)).ok  # seen at `later`
    ended = check_session(session, token=token, now=later + timedelta(minutes=2 * idle))
    assert ended.reason == "idle" and session.get(WebSession, sid).revoked_reason == "idle"
    assert check_session(session, token=token, now=later + timedelta(minutes=2 * idle)).reason == "revoked"
    assert "session.idle" in _actions(session)


def test_a_session_ends_at_its_absolute_lifetime_however_active(session):
    """Test that a session used every few minutes still ends GRIDWISE_SESSION_MAX_HOURS after sign-in."""
    hours = get_settings().session_max_hours
    user = make_user(session, "lee", hash_password("right-password"))
    sid, _token = _signed_in(session, user)
    t = NOW
    while t + timedelta(minutes=20) < NOW + timedelta(hours=hours):
        t += timedelta(minutes=20)
        assert check_session(session, session_id=sid, now=t).ok
    assert check_session(session, session_id=sid, now=NOW + timedelta(hours=hours)).reason == "expired"
    assert "session.expired" in _actions(session)


def test_sign_out_revokes_so_a_copied_cookie_no_longer_works(session):
    """Test that after sign-out the same token (a copy of the cookie) signs nobody in."""
    user = make_user(session, "lee", hash_password("right-password"))
    sid, token = _signed_in(session, user)
    end_session(session, sid, now=NOW + timedelta(minutes=1))
    assert check_session(session, token=token, now=NOW + timedelta(minutes=2)).reason == "revoked"
    assert _actions(session)[-1] == "session.end"


def test_password_reset_role_change_and_deactivation_sign_the_user_out_everywhere(session):
    """Test that an admin's password reset, role or scope change and deactivation each end all of the user's
    sessions, and an edit of the display name ends none."""
    admin = make_user(session, "boss", hash_password("right-password"), role=Role.SYSADMIN)
    boss = viewer_for(session, admin)
    guard = viewer_for(
        session, make_user(session, "guard", hash_password("right-password"), role=Role.SECADMIN)
    )
    user = make_user(session, "lee", hash_password("right-password"))

    def two_sessions() -> list[str]:
        return [_signed_in(session, user)[1] for _ in range(2)]

    for change in (lambda: update_user(session, boss, user.id, display_name="Lee Ming"),):
        tokens = two_sessions()
        change()
        assert all(check_session(session, token=t, now=NOW).ok for t in tokens)
    for change in (
        lambda: reset_password(session, boss, user.id),
        lambda: update_user(
            session, guard, user.id, role=Role.WORKER if user.role == "manager" else Role.MANAGER
        ),
        lambda: update_user(session, boss, user.id, is_active=False),
    ):
        tokens = two_sessions()
        change()
        assert [check_session(session, token=t, now=NOW).reason for t in tokens] == ["revoked", "revoked"]
        session.get(type(user), user.id).is_active = True
    assert _actions(session).count("session.revoke_all") == 3


def test_changing_ones_own_password_keeps_this_browser_and_ends_the_others(session):
    """Test that a password change signs out every other browser of the user, not the one that changed it."""
    user = make_user(session, "lee", hash_password("right-password"))
    here, here_token = _signed_in(session, user)
    _other, other_token = _signed_in(session, user)
    change_own_password(session, user.id, "right-password", "A new password 7", keep_session=here)
    assert check_session(session, token=here_token, now=NOW).ok
    assert check_session(session, token=other_token, now=NOW).reason == "revoked"


def test_an_admin_lists_and_ends_sessions_and_nobody_else_may(session):
    """Test that the security administrator's list shows open sessions with their device, ending one takes it
    off, and neither a manager nor the system administrator may list or end sessions."""
    admin = make_user(session, "boss", hash_password("right-password"), role=Role.SECADMIN)
    boss = viewer_for(session, admin)
    user = make_user(session, "lee", hash_password("right-password"))
    sid, token = _signed_in(session, user)
    _signed_in(session, admin)
    frame = active_sessions(session, boss, now=NOW + timedelta(minutes=5))
    assert sorted(frame["username"]) == ["boss", "lee"]
    assert device(frame.loc[frame["username"] == "lee", "user_agent"].iloc[0]) == "Chrome · Android"
    assert revoke_sessions(session, boss, [sid], now=NOW + timedelta(minutes=6)) == 1
    assert revoke_sessions(session, boss, [sid], now=NOW + timedelta(minutes=6)) == 0  # already ended
    assert check_session(session, token=token, now=NOW + timedelta(minutes=7)).reason == "revoked"
    assert active_sessions(session, boss, now=NOW + timedelta(minutes=7))["username"].tolist() == ["boss"]
    for role in (Role.MANAGER, Role.SYSADMIN, Role.AUDITOR):
        other = Viewer(user_id=user.id, role=role, scope_level=OrgLevel.DISTRICT, scope_unit_id=None)
        with pytest.raises(ScopeError):
            active_sessions(session, other)
        with pytest.raises(ScopeError):
            revoke_sessions(session, other, [sid])


def test_a_single_sign_on_identity_maps_to_its_user_by_the_configured_claim(session, monkeypatch):
    """Test that an identity's claim finds the user by username (any case) or by employee number, and an
    unknown or deactivated one finds nobody, creates nobody and is audited."""
    org = make_org(session)
    lee = make_user(session, "lee", hash_password("right-password"))
    worker_user = make_user(
        session, "a00", hash_password("right-password"), role=Role.WORKER, worker_id=org.workers_a[0].id
    )
    make_user(session, "gone", hash_password("right-password"), is_active=False)
    assert user_for_identity(session, {"sub": "x", "preferred_username": "LEE"}).id == lee.id
    assert user_for_identity(session, {"sub": "x", "preferred_username": "stranger"}) is None
    assert user_for_identity(session, {"sub": "x", "preferred_username": "gone"}) is None
    assert user_for_identity(session, {"sub": "x"}) is None
    monkeypatch.setenv("GRIDWISE_SSO_CLAIM", "employee_no")
    monkeypatch.setenv("GRIDWISE_SSO_MATCH", "employee_no")
    get_settings.cache_clear()
    try:
        assert user_for_identity(session, {"sub": "x", "employee_no": "a00"}).id == worker_user.id
        assert user_for_identity(session, {"sub": "x", "employee_no": "lee"}) is None
    finally:
        get_settings.cache_clear()
    assert session.exec(select(func.count()).select_from(User)).one() == 3
    assert _actions(session).count("session.sso_refused") == 4

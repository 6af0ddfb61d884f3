"""The password policy (issue #18 item 2; 等保 2.0 身份鉴别 a): weak, common, reused and expired passwords,
forced changes after an administrator sets or resets one, and old hashes rehashed at sign-in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from core.auth import change_own_password, hash_password, password_expired, set_password, sign_in
from core.models import Role, User
from core.models_auth import PasswordHistory
from core.passwords import PasswordRefused, check_password, common_passwords, temporary_password
from core.settings import get_settings
from core.users import create_user, reset_password
from tests.factories import make_user, viewer

NOW = datetime(2020, 6, 1, 9, 0)
GOOD = "Harbour-lantern-42"


def _refusal(password: str, username: str = "lee") -> str:
    with pytest.raises(PasswordRefused) as refused:
        check_password(password, username=username)
    return refused.value.key


@pytest.mark.parametrize(
    ("password", "key"),
    [
        ("Ab1-", "auth.err.pw_too_short"),
        ("aaaaaaaa", "auth.err.pw_too_short"),  # 8 < 10
        ("aaaaaaaaaaaa", "auth.err.pw_classes"),
        ("123456789012", "auth.err.pw_classes"),
        ("pw12345678", "auth.err.pw_classes"),  # what create-admin used to accept
        ("all lower case words", "auth.err.pw_classes"),
        ("Mylee-name-123", "auth.err.pw_contains_username"),
        ("Password123!", "auth.err.pw_common"),
        ("Admin@12345", "auth.err.pw_common"),
        ("P@ssw0rd2024", "auth.err.pw_common"),
        ("1qaz@WSX3edc", "auth.err.pw_common"),
    ],
)
def test_weak_and_common_passwords_are_refused_with_the_rule_they_break(password, key):
    """Test each rule of the default policy, refused with its own catalog message in zh and en."""
    assert _refusal(password) == key
    with pytest.raises(PasswordRefused) as refused:
        check_password(password, username="lee")
    assert refused.value.message("zh") != refused.value.message("en") != key


def test_a_good_password_passes_and_the_shipped_list_is_a_few_thousand_lower_case_entries():
    """Test that a long mixed password is accepted and the common list holds the classics."""
    check_password(GOOD, username="lee")
    common = common_passwords()
    assert 3000 < len(common) < 20_000 and all(w == w.lower() for w in common)
    assert {"12345678", "aaaaaaaa", "qwerty123", "password", "admin@123", "woaini1314"} <= common


def test_rules_follow_the_settings(monkeypatch):
    """Test that the policy's figures come from GRIDWISE_PASSWORD_* (here: 6 characters, 1 class)."""
    monkeypatch.setenv("GRIDWISE_PASSWORD_MIN_LENGTH", "6")
    monkeypatch.setenv("GRIDWISE_PASSWORD_MIN_CLASSES", "1")
    get_settings.cache_clear()
    try:
        check_password("zebrafish", username="lee")
        assert _refusal("zebra") == "auth.err.pw_too_short"
    finally:
        get_settings.cache_clear()


def test_a_password_is_not_one_of_the_last_five(session):
    """Test that the current password and the four before it are refused, the sixth-last is allowed again,
    and the history keeps five hashes (never a password)."""
    user = make_user(session, "lee", hash_password(GOOD))
    with pytest.raises(PasswordRefused, match="last 5"):
        change_own_password(session, user.id, GOOD, GOOD)
    passwords = [f"Harbour-lantern-{n}x" for n in range(1, 6)]
    current = GOOD
    for new in passwords:
        change_own_password(session, user.id, current, new, now=NOW)
        current = new
    for old in passwords:
        with pytest.raises(PasswordRefused) as refused:
            change_own_password(session, user.id, current, old)
        assert refused.value.key == "auth.err.pw_reused"
    change_own_password(session, user.id, current, GOOD, now=NOW)  # six passwords back: allowed again
    session.commit()
    hashes = session.exec(
        select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
    ).all()
    assert len(hashes) == 5 and all(h.startswith("$argon2id$") for h in hashes)


def test_an_expired_password_forces_a_change_at_sign_in(session, monkeypatch):
    """Test that a password older than 90 days still signs in but must be changed first; 89 days does not;
    GRIDWISE_PASSWORD_MAX_AGE_DAYS=0 turns expiry off; demo accounts never expire."""
    user = make_user(session, "lee", "")
    set_password(session, user, GOOD, now=NOW)
    demo = make_user(session, "demo", hash_password(GOOD), is_demo=True)
    demo.created_at = NOW - timedelta(days=400)
    session.commit()
    assert not password_expired(session, user, NOW + timedelta(days=89))
    signed = sign_in(session, "lee", GOOD, now=NOW + timedelta(days=91))
    assert signed.ok and signed.user.must_change_password
    assert sign_in(session, "demo", GOOD, now=NOW).ok and not demo.must_change_password
    monkeypatch.setenv("GRIDWISE_PASSWORD_MAX_AGE_DAYS", "0")
    get_settings.cache_clear()
    try:
        assert not password_expired(session, user, NOW + timedelta(days=900))
    finally:
        get_settings.cache_clear()
    change_own_password(session, user.id, GOOD, "Quiet-meadow-2026", now=NOW + timedelta(days=91))
    assert not user.must_change_password
    assert not password_expired(session, user, NOW + timedelta(days=150))


def test_accounts_an_administrator_creates_or_resets_must_change_the_password(session):
    """Test that a new account and a reset one must choose their own password, and a reset's temporary
    password satisfies the policy."""
    admin = viewer(Role.SYSADMIN)
    with pytest.raises(PasswordRefused):
        create_user(session, admin, username="wu", display_name="Wu", role=Role.MANAGER, password="12345678")
    user = create_user(session, admin, username="wu", display_name="Wu", role=Role.MANAGER, password=GOOD)
    assert user.must_change_password
    user.must_change_password = False
    temp = reset_password(session, admin, user.id)
    check_password(temp, username="wu")
    assert user.must_change_password and temporary_password() != temp
    session.commit()
    assert sign_in(session, "wu", temp, now=NOW).user.must_change_password


def test_an_old_hash_is_rehashed_at_sign_in(session):
    """Test that a hash made with other argon2 parameters (argon2-cffi's defaults) is replaced by one with
    the current parameters at the next successful sign-in, and still verifies."""
    make_user(session, "lee", PasswordHasher().hash(GOOD))
    assert sign_in(session, "lee", GOOD, now=NOW).ok
    user = session.exec(select(User).where(User.username == "lee")).one()
    assert "$m=19456,t=2,p=1$" in user.password_hash
    assert sign_in(session, "lee", GOOD, now=NOW).ok

"""Password hashing and sign-in with lockout."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.auth import SignInError, hash_password, sign_in, verify_password
from core.models import Role
from tests.factories import make_user

NOW = datetime(2020, 6, 1, 9, 0)


def test_password_hash_is_argon2_and_verifies():
    """Test that hashes are salted argon2id and only the right password verifies."""
    h1, h2 = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert h1.startswith("$argon2id$") and h1 != h2
    assert verify_password("s3cret-pass", h1)
    assert not verify_password("wrong", h1)
    assert not verify_password("s3cret-pass", "not-a-hash")


def test_password_hash_uses_owasp_argon2id_parameters():
    """Test that new hashes use OWASP's recommended argon2id parameters (19 MiB, 2 iterations, 1 lane) and
    that a hash made with argon2-cffi's heavier defaults still verifies."""
    from argon2 import PasswordHasher

    assert "$m=19456,t=2,p=1$" in hash_password("s3cret-pass")
    assert verify_password("s3cret-pass", PasswordHasher().hash("s3cret-pass"))


def test_sign_in_succeeds_and_resets_failures(session):
    """Test that a right password signs in, records the time and clears the failure count."""
    user = make_user(session, "lee", hash_password("right-password"), failed_logins=3)
    result = sign_in(session, "LEE ", "right-password", now=NOW)
    assert result.ok and result.user.id == user.id
    session.refresh(user)
    assert user.failed_logins == 0 and user.last_login_at == NOW


def test_unknown_user_and_wrong_password_get_the_same_error(session):
    """Test that the error does not reveal whether a username exists."""
    make_user(session, "lee", hash_password("right-password"))
    assert sign_in(session, "nobody", "x", now=NOW).error == SignInError.BAD_CREDENTIALS
    assert sign_in(session, "lee", "x", now=NOW) == sign_in(session, "nobody", "x", now=NOW)


def test_five_failures_lock_for_fifteen_minutes(session):
    """Test that the fifth failure locks the account, even for the right password, until it expires; the
    fifth and every later wrong password get the unknown user's answer (the lock is not announced)."""
    make_user(session, "lee", hash_password("right-password"))
    for _ in range(4):
        assert sign_in(session, "lee", "bad", now=NOW).error == SignInError.BAD_CREDENTIALS
    assert sign_in(session, "lee", "bad", now=NOW).error == SignInError.BAD_CREDENTIALS
    assert sign_in(session, "lee", "bad", now=NOW + timedelta(minutes=1)).error == SignInError.BAD_CREDENTIALS
    locked = sign_in(session, "lee", "right-password", now=NOW + timedelta(minutes=1))
    assert locked.error == SignInError.LOCKED and locked.locked_until == NOW + timedelta(minutes=15)
    assert (
        sign_in(session, "lee", "right-password", now=NOW + timedelta(minutes=14)).error == SignInError.LOCKED
    )
    assert sign_in(session, "lee", "right-password", now=NOW + timedelta(minutes=16)).ok


def test_empty_form_and_inactive_account(session):
    """Test the empty-form and deactivated-account answers."""
    make_user(session, "gone", hash_password("right-password"), is_active=False, role=Role.WORKER)
    assert sign_in(session, "", "", now=NOW).error == SignInError.EMPTY
    assert sign_in(session, "gone", "right-password", now=NOW).error == SignInError.INACTIVE


def test_admin_reset_then_user_changes_password(session):
    """Test that a reset password works once, forces a change, and the change clears the flag."""
    from core.users import reset_password
    from tests.factories import viewer

    user = make_user(session, "lee", hash_password("right-password"))
    temp = reset_password(session, viewer(Role.SYSADMIN), user.id)
    session.commit()
    assert temp != "right-password" and user.must_change_password
    signed = sign_in(session, "lee", temp, now=NOW)
    assert signed.ok and signed.user.must_change_password
    from core.auth import change_own_password

    try:
        change_own_password(session, user.id, "wrong", "new-password-1")
    except ValueError:
        pass
    else:
        raise AssertionError("a wrong current password was accepted")
    change_own_password(session, user.id, temp, "new-password-1")
    session.commit()
    assert not user.must_change_password and sign_in(session, "lee", "new-password-1", now=NOW).ok

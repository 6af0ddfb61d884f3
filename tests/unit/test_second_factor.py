"""The second factor wired in (issue #18 item 3): required per role, the sign-in step after the password (±1
step, no replay, recovery codes spent once, failures toward the same lock and throttle, one answer for every
wrong shape), the secret sealed at rest, a session without the step not accepted, the security administrator's
audited reset, and the single sign-on claim that stands for the step."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from core.auth import SecondStep, SignInError, hash_password, second_factor_sign_in, sign_in
from core.errors import GridwiseError
from core.models import Role
from core.models_audit import AuditEntry
from core.models_web_sessions import WebSession
from core.scope import ScopeError
from core.settings import get_settings
from core.totp import (
    begin_enrolment,
    confirm,
    current_step,
    otpauth_uri,
    qr_png,
    recovery_codes_left,
    required,
    sso_claims_second_factor,
    totp,
    verify,
)
from core.users import reset_second_factor
from core.web_sessions import check_session, mark_second_factor, open_session
from tests.factories import make_user, viewer

NOW = datetime(2020, 6, 1, 9, 0)
T = 1_800_000_000.0  # a fixed clock for the codes (unix time)
PW = "Harbour-lantern-42"


@pytest.fixture
def settings_env(monkeypatch):
    def _set(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"GRIDWISE_{name.upper()}", value)
        get_settings.cache_clear()

    yield _set
    get_settings.cache_clear()


def _enrolled(session, username: str, role: Role = Role.SYSADMIN):
    """An account with a confirmed authenticator; returns (user, secret, recovery codes)."""
    user = make_user(session, username, hash_password(PW), role=role)
    secret = begin_enrolment(session, user.id)
    codes = confirm(session, user.id, totp(secret, current_step(T) - 5), unix_time=T - 150)
    session.commit()
    return user, secret, codes


def _actions(session, user_id: int | None = None) -> list[str]:
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    rows = session.exec(stmt).all()
    return [r.action for r in rows if user_id is None or str(r.entity_id) == str(user_id)]


def test_a_code_is_accepted_one_step_either_side_and_never_twice(session):
    """Test the ±1 step window (two steps off is refused) and that an accepted step, or an earlier one,
    is refused afterwards, at the sign-in step as in ``verify``."""
    user, secret, _ = _enrolled(session, "lee")
    step = current_step(T)
    assert not verify(session, user.id, totp(secret, step - 2), unix_time=T)
    assert not verify(session, user.id, totp(secret, step + 2), unix_time=T)
    assert verify(session, user.id, totp(secret, step - 1), unix_time=T)
    assert not verify(session, user.id, totp(secret, step - 1), unix_time=T)  # the same code again
    ok = second_factor_sign_in(session, user.id, totp(secret, step), now=NOW, unix_time=T)
    assert ok.ok and ok.method == "totp"
    again = second_factor_sign_in(session, user.id, totp(secret, step), now=NOW, unix_time=T)
    assert again.error == SignInError.BAD_CODE and not again.ok
    assert not verify(session, user.id, totp(secret, step - 1), unix_time=T + 30)  # older than the last used


def test_a_recovery_code_signs_in_once(session):
    """Test that a recovery code passes the step once and is then refused, and the count left goes down."""
    user, _, codes = _enrolled(session, "lee")
    assert recovery_codes_left(session, user.id) == 10
    first = second_factor_sign_in(session, user.id, codes[0].upper(), now=NOW, unix_time=T)
    assert first.ok and first.method == "recovery"
    assert (
        second_factor_sign_in(session, user.id, codes[0], now=NOW, unix_time=T).error == SignInError.BAD_CODE
    )
    assert recovery_codes_left(session, user.id) == 9


def test_the_secret_and_the_recovery_codes_are_not_in_clear_in_the_database(session):
    """Test that the stored secret is sealed (core.sealed) and the recovery codes are keyed hashes: neither
    the secret nor a code, nor a plain SHA-256 of one, appears in the tables."""
    user, secret, codes = _enrolled(session, "lee")
    stored = session.execute(text("SELECT secret FROM second_factor")).scalar_one()
    assert stored.startswith("s1:") and secret not in stored
    hashes = set(session.execute(text("SELECT code_hash FROM recovery_code")).scalars())
    assert len(hashes) == 10
    for code in codes:
        plain = hashlib.sha256(code.replace("-", "").encode()).hexdigest()
        assert code not in hashes and code.replace("-", "") not in hashes and plain not in hashes
    assert secret in otpauth_uri(secret, "lee") and qr_png(otpauth_uri(secret, "lee")).startswith(b"\x89PNG")


def test_wrong_codes_of_any_shape_answer_alike_and_count_toward_the_lock_and_the_throttle(
    session, settings_env
):
    """Test that a wrong code, a too-short one, letters and an unknown recovery code all get BAD_CODE, that
    each counts toward the account lock (then even the right code is refused) and the address throttle, that
    a right password does not clear the count, and that each refusal is audited with the address."""
    settings_env(lockout_threshold="5", signin_address_failures="5")
    user, secret, _ = _enrolled(session, "lee")
    step = current_step(T)
    wrong = "000000" if totp(secret, step) != "000000" else "111111"
    for code in (wrong, "12345", "abcdef", "zzzzzz-zzzzzz"):
        result = second_factor_sign_in(session, user.id, code, address="10.0.0.5", now=NOW, unix_time=T)
        assert result == type(result)(error=SignInError.BAD_CODE)
    assert sign_in(session, "lee", PW, address="10.0.0.6", now=NOW).second_step == SecondStep.CODE
    session.refresh(user)
    assert user.failed_logins == 4  # the right password alone did not clear it
    last = second_factor_sign_in(session, user.id, wrong, address="10.0.0.5", now=NOW, unix_time=T)
    assert last.error == SignInError.BAD_CODE
    locked = second_factor_sign_in(
        session, user.id, totp(secret, step), address="10.0.0.7", now=NOW, unix_time=T
    )
    assert locked.error == SignInError.LOCKED
    throttled = second_factor_sign_in(
        session, user.id, totp(secret, step), address="10.0.0.5", now=NOW, unix_time=T
    )
    assert throttled.error == SignInError.THROTTLED
    actions = _actions(session, user.id)
    assert actions.count("signin.second_factor_failed") == 4 and "signin.locked" in actions
    failed = session.exec(
        select(AuditEntry).where(AuditEntry.action == "signin.second_factor_failed")
    ).first()
    assert "10.0.0.5" in str(failed.detail)


def test_the_roles_that_require_a_second_factor_come_from_the_setting(session, settings_env):
    """Test the default (the three administrator duties), a manager added by the setting, and that a right
    password then leads to enrolment (not enrolled) or to the code (enrolled), never to a session."""
    admins = {r: make_user(session, f"a_{r.value}", hash_password(PW), role=r) for r in Role}
    assert {r for r, u in admins.items() if required(u)} == {Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR}
    first = sign_in(session, "a_secadmin", PW, now=NOW)
    assert first.pending and not first.ok and first.second_step == SecondStep.ENROL
    assert sign_in(session, "a_manager", PW, now=NOW).ok
    settings_env(mfa_required_roles="sysadmin,secadmin,auditor,manager")
    assert required(admins[Role.MANAGER]) and not required(admins[Role.WORKER])
    assert sign_in(session, "a_manager", PW, now=NOW).second_step == SecondStep.ENROL
    _enrolled(session, "chosen", role=Role.WORKER)  # enrolled by choice: asked for it although not required
    assert sign_in(session, "chosen", PW, now=NOW).second_step == SecondStep.CODE
    assert "signin.password_ok" in _actions(session)


def test_a_session_opened_without_the_second_factor_is_not_accepted(session):
    """Test that a signed-in session of an account that takes a second factor counts only if it was opened
    through the step (or marked when its user set one up), so a reload with the cookie cannot skip it."""
    admin = make_user(session, "sys", hash_password(PW), role=Role.SYSADMIN)
    row, _ = open_session(session, admin)
    session.commit()
    state = check_session(session, session_id=row.id, now=row.created_at)
    assert not state.ok and state.reason == "second_factor"
    row2, _ = open_session(session, admin, via="password+mfa")
    assert check_session(session, session_id=row2.id, now=row2.created_at).ok
    user, _, _ = _enrolled(session, "chosen", role=Role.WORKER)
    row3, _ = open_session(session, user)
    mark_second_factor(session, row3.id)
    assert session.get(WebSession, row3.id).via == "password+mfa"
    assert check_session(session, session_id=row3.id, now=row3.created_at).ok


def test_a_security_administrator_resets_a_second_factor_audited(session):
    """Test that only the security administrator resets (not the system administrator, not on their own
    account), that the reset is audited with who and whose, ends the account's sessions, and that the
    next sign-in sets a new one up."""
    user, _, _ = _enrolled(session, "sys")
    sec = make_user(session, "sec", hash_password(PW), role=Role.SECADMIN)
    live, _ = open_session(session, user, via="password+mfa")
    with pytest.raises(ScopeError):
        reset_second_factor(session, viewer(Role.SYSADMIN, user_id=user.id), user.id)
    with pytest.raises(GridwiseError):
        reset_second_factor(session, viewer(Role.SECADMIN, user_id=user.id), user.id)
    reset_second_factor(session, viewer(Role.SECADMIN, user_id=sec.id), user.id)
    session.commit()
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "user.reset_second_factor")).one()
    assert entry.user_id == sec.id  # who
    assert str(entry.entity_id) == str(user.id) and "sys" in str(entry.detail)  # whose
    assert session.get(WebSession, live.id).revoked_reason == "second_factor_reset"
    assert sign_in(session, "sys", PW, now=NOW).second_step == SecondStep.ENROL
    with pytest.raises(GridwiseError):  # nothing left to reset
        reset_second_factor(session, viewer(Role.SECADMIN, user_id=sec.id), user.id)


def test_the_single_sign_on_claim_stands_for_the_second_factor_only_as_configured(settings_env):
    """Test the default claim (amr holding mfa/otp/hwk), a provider that did not say so, and a setting that
    trusts no claim at all."""
    assert sso_claims_second_factor({"amr": ["pwd", "mfa"]})
    assert sso_claims_second_factor({"amr": "otp"})
    assert not sso_claims_second_factor({"amr": ["pwd"]})
    assert not sso_claims_second_factor({"sub": "x"})
    settings_env(sso_mfa_claim="acr", sso_mfa_values="urn:gov:loa3")
    assert sso_claims_second_factor({"acr": "urn:gov:loa3"}) and not sso_claims_second_factor(
        {"amr": ["mfa"]}
    )
    settings_env(sso_mfa_claim="")
    assert not sso_claims_second_factor({"amr": ["mfa"]})

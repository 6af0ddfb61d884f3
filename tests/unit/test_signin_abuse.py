"""Sign-in abuse (issue #18 item 6): one answer for an unknown user and a wrong password, a throttle per client
address (taken from a trusted proxy's header only) before any account's own counter, and every refused
attempt audited with its address, without storing a typed username that matches no account."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from core import auth
from core.auth import UNKNOWN_USER, SignInError, hash_password, sign_in
from core.client_address import client_address
from core.models import User
from core.models_audit import AuditEntry
from core.settings import get_settings
from tests.factories import make_user

NOW = datetime(2020, 6, 1, 9, 0)
PW = "right-password"


def _audit(session) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())


def test_unknown_user_wrong_password_and_locked_account_answer_alike_in_the_same_work(session, monkeypatch):
    """Test that an unknown user, a wrong password and a wrong password for a locked account give the same
    result (no count of tries left, no lock announced) after the same work: one argon2 verification each."""
    make_user(session, "lee", hash_password(PW))
    make_user(session, "held", hash_password(PW), locked_until=NOW + timedelta(minutes=10))
    calls: list[str] = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda p, h: calls.append(h) or real(p, h))
    answers = []
    for name in ("nobody", "lee", "held"):
        calls.clear()
        answers.append(sign_in(session, name, "wrong-one", address="10.0.0.1", now=NOW))
        assert len(calls) == 1, name
    assert answers[0] == answers[1] == answers[2] == auth.SignInResult(error=SignInError.BAD_CREDENTIALS)


def test_a_throttled_address_is_refused_before_any_account_is_touched(session, monkeypatch):
    """Test that 20 refusals from one address (over many usernames) refuse that address next, even with a
    right password, without counting against the account; another address still signs in; the window ends."""
    make_user(session, "lee", hash_password(PW))
    for n in range(20):
        assert sign_in(session, f"guess{n:02d}", "x", address="203.0.113.9", now=NOW).error == (
            SignInError.BAD_CREDENTIALS
        )
    throttled = sign_in(session, "lee", PW, address="203.0.113.9", now=NOW + timedelta(minutes=1))
    assert throttled.error == SignInError.THROTTLED
    assert sign_in(session, "lee", "wrong", address="203.0.113.9", now=NOW).error == SignInError.THROTTLED
    lee = session.exec(select(User).where(User.username == "lee")).one()
    assert lee.failed_logins == 0 and lee.locked_until is None
    assert sign_in(session, "lee", PW, address="198.51.100.7", now=NOW).ok
    assert sign_in(session, "lee", PW, address="203.0.113.9", now=NOW + timedelta(minutes=16)).ok


def test_one_address_cannot_lock_everyone(session):
    """Test that guessing from one address against ten predictable usernames locks at most four accounts
    (20 refusals ÷ 5 per lock) before the address itself is refused."""
    for n in range(10):
        make_user(session, f"dp{n:04d}", hash_password(PW))
    for n in range(10):
        for _ in range(5):
            sign_in(session, f"dp{n:04d}", "guess", address="203.0.113.9", now=NOW)
    locked = session.exec(select(User).where(User.locked_until != None)).all()  # noqa: E711
    assert len(locked) == 4
    assert all(sign_in(session, f"dp{n:04d}", PW, address="198.51.100.7", now=NOW).ok for n in range(4, 10))


def test_every_refused_attempt_is_audited_with_its_address_and_no_typed_unknown_username(session):
    """Test the audit rows of an unknown user, a wrong password, the lock, a locked and an inactive account
    and a throttled address: each has the client address; the unknown username typed is stored as a marker."""
    make_user(session, "lee", hash_password(PW))
    make_user(session, "gone", hash_password(PW), is_active=False)
    sign_in(session, "My-Secret-Pass!", "oops", address="10.1.1.1", now=NOW)
    for _ in range(5):
        sign_in(session, "lee", "wrong", address="10.1.1.2", now=NOW)
    sign_in(session, "lee", PW, address="10.1.1.3", now=NOW)
    sign_in(session, "gone", PW, address="10.1.1.4", now=NOW)
    rows = _audit(session)
    assert [(r.action, r.username) for r in rows] == [
        ("signin.unknown_user", UNKNOWN_USER),
        *[("signin.failed", "lee")] * 4,
        ("signin.locked", "lee"),
        ("signin.refused_locked", "lee"),
        ("signin.inactive", "gone"),
    ]
    assert [r.detail for r in rows][-2:] == ['{"address": "10.1.1.3"}', '{"address": "10.1.1.4"}']
    assert all('"address": "10.1.1.' in (r.detail or "") for r in rows)
    assert not any("My-Secret-Pass!" in str(r.model_dump()) for r in rows)
    for _ in range(20):
        sign_in(session, "x", "y", address="10.9.9.9", now=NOW)
    sign_in(session, "lee", PW, address="10.9.9.9", now=NOW)
    last = _audit(session)[-1]
    assert (last.action, last.username, last.detail) == (
        "signin.throttled",
        UNKNOWN_USER,
        '{"address": "10.9.9.9"}',
    )


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),  # the local proxy names the client
        ("127.0.0.1", "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # the left entry was written by the client
        ("127.0.0.1", "203.0.113.9, 127.0.0.1", "203.0.113.9"),  # two trusted hops
        ("198.51.100.7", "127.0.0.1", "198.51.100.7"),  # not a trusted proxy: its header proves nothing
        ("127.0.0.1", "", "127.0.0.1"),  # no header: the peer
    ],
)
def test_the_client_address_comes_from_a_trusted_proxy_only(peer, forwarded, expected):
    """Test how the client address is taken from X-Forwarded-For (GRIDWISE_TRUSTED_PROXIES)."""
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    assert client_address(peer, headers) == expected


def test_the_trusted_proxies_and_header_are_settings(monkeypatch):
    """Test that another proxy network and header name are honoured."""
    monkeypatch.setenv("GRIDWISE_TRUSTED_PROXIES", "10.0.0.0/8")
    monkeypatch.setenv("GRIDWISE_CLIENT_ADDRESS_HEADER", "X-Real-IP")
    get_settings.cache_clear()
    try:
        assert client_address("10.2.3.4", {"X-Real-IP": "203.0.113.9"}) == "203.0.113.9"
        assert client_address("127.0.0.1", {"X-Real-IP": "203.0.113.9"}) == "127.0.0.1"
    finally:
        get_settings.cache_clear()

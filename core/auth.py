"""Password hashing (argon2id) and sign-in with failed-attempt lockout."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func
from sqlmodel import Session, select

from core import clock
from core.audit import record
from core.db import retry_busy_in_session
from core.errors import GridwiseError
from core.models import User
from core.settings import get_settings
from core.web_sessions import revoke_user_sessions

# OWASP's recommended argon2id configuration (Password Storage Cheat Sheet: 19 MiB, 2 iterations, 1 lane):
# one sign-in costs ~25 ms of server CPU on this machine, against ~190 ms with argon2-cffi's defaults
# (64 MiB, 3 iterations, 4 lanes), which made sign-in the dearest step of a worker's journey. Hashes made
# with other parameters still verify: each hash carries its own.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class SignInError(enum.StrEnum):
    EMPTY = "empty"  # username or password not given
    BAD_CREDENTIALS = "bad_credentials"  # unknown user or wrong password: deliberately one message
    LOCKED = "locked"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class SignInResult:
    user: User | None = None
    error: SignInError | None = None
    locked_until: datetime | None = None
    attempts_left: int | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None


# A fixed hash verified when the user does not exist, so that "unknown user" takes as long as
# "wrong password" and the timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("gridwise-timing-equaliser")


WRITE_ATTEMPTS = (
    8  # a sign-in's write (counter, last sign-in, audit row) is tried this often on a busy database
)
T = TypeVar("T")


def _commit_retrying(session: Session, write: Callable[[], T]) -> T:
    """Make the changes ``write`` makes to the session and commit them, again while the database is busy
    (a burst of sign-ins; ``core.db.retry_busy_in_session``). The changes are re-read and re-made from
    scratch after each rollback, so a retry records them once."""

    def write_and_commit() -> T:
        out = write()
        session.commit()
        return out

    try:
        return retry_busy_in_session(session, write_and_commit, attempts=WRITE_ATTEMPTS)
    except Exception:
        session.rollback()
        raise


def sign_in(session: Session, username: str, password: str, *, now: datetime | None = None) -> SignInResult:
    """Check a username and password; count failures and lock after the configured number.

    A named exception to "the caller owns the transaction" (docs/CONVENTIONS.md): the failure counter,
    the lockout and their audit row commit here, retried while the database is busy, because they must
    stay written although the caller then shows an error and writes nothing else.
    """
    settings = get_settings()
    now = now or clock.now()
    username = (username or "").strip()
    if not username or not password:
        return SignInResult(error=SignInError.EMPTY)
    user = session.exec(select(User).where(func.lower(User.username) == username.lower())).first()
    if user is None:
        verify_password(password, _DUMMY_HASH)
        _commit_retrying(session, lambda: record(session, "signin.unknown_user", username=username[:64]))
        return SignInResult(error=SignInError.BAD_CREDENTIALS)
    if user.locked_until and user.locked_until > now:
        return SignInResult(error=SignInError.LOCKED, locked_until=user.locked_until)
    if not verify_password(password, user.password_hash):

        def failed() -> SignInResult:
            user.failed_logins = (user.failed_logins or 0) + 1
            session.add(user)
            if user.failed_logins >= settings.lockout_threshold:
                user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                user.failed_logins = 0
                record(
                    session,
                    "signin.locked",
                    username=user.username,
                    entity="user",
                    entity_id=user.id,
                    after={"locked_until": user.locked_until},
                )
                return SignInResult(error=SignInError.LOCKED, locked_until=user.locked_until)
            record(session, "signin.failed", username=user.username, entity="user", entity_id=user.id)
            return SignInResult(
                error=SignInError.BAD_CREDENTIALS,
                attempts_left=settings.lockout_threshold - user.failed_logins,
            )

        return _commit_retrying(session, failed)
    if not user.is_active:
        return SignInResult(error=SignInError.INACTIVE)

    def succeeded() -> None:
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        session.add(user)
        record(session, "signin.ok", username=user.username, entity="user", entity_id=user.id)

    _commit_retrying(session, succeeded)
    session.refresh(user)
    return SignInResult(user=user)


def set_password(session: Session, user: User, password: str) -> None:
    """Set a new password (checked against the minimum length) and clear any lockout."""
    min_len = get_settings().min_password_length
    if len(password) < min_len:
        raise GridwiseError("core.err.password_short", n=min_len)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)


def change_own_password(
    session: Session,
    user_id: int,
    old_password: str,
    new_password: str,
    *,
    keep_session: int | None = None,
) -> None:
    """A signed-in user replaces their password (after an admin reset, for instance); every other signed-in
    browser of theirs is signed out (the session ``keep_session``, where they changed it, stays)."""
    user = session.get(User, user_id)
    if user is None or not verify_password(old_password, user.password_hash):
        raise GridwiseError("core.err.password_wrong")
    if old_password == new_password:
        raise GridwiseError("core.err.password_same")
    set_password(session, user, new_password)
    user.must_change_password = False
    session.add(user)
    revoke_user_sessions(session, user_id, "password_changed", keep=keep_session)

"""Password hashing (argon2id) and sign-in with failed-attempt lockout, in one or two steps: the password,
then, for an account that needs one (core.totp), the second factor (``second_factor_sign_in``). Failures of
either step count toward the same per-account lock and per-address throttle, and are audited."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.db import retry_busy_in_session
from core.models import User, row_id
from core.models_auth import PasswordHistory, SignInThrottle
from core.passwords import PasswordRefused, check_password
from core.settings import get_settings
from core.totp import (
    DIGITS,
    enrolled,
    needs_second_factor,
    sso_claims_second_factor,
    use_recovery_code,
    verify,
)
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
    # Unknown user, wrong password, or a wrong password for a locked account: deliberately one answer, so
    # nobody learns which usernames exist or how many tries are left.
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"  # the right password for a locked account (only its holder learns of the lock)
    INACTIVE = "inactive"  # the right password for a deactivated account
    THROTTLED = "throttled"  # too many refused sign-ins from this client address: refused before any account
    # A wrong, reused or mis-shaped second-factor code (or recovery code): one answer for all of them.
    BAD_CODE = "bad_code"


class SecondStep(enum.StrEnum):
    """What a right password leads to when the account takes a second factor."""

    CODE = "code"  # type the authenticator's code (or a recovery code)
    ENROL = "enrol"  # required for the role and not set up yet: set it up now, nothing else before


@dataclass(frozen=True)
class SignInResult:
    user: User | None = None
    error: SignInError | None = None
    locked_until: datetime | None = None
    # Set when the password was right and a second step must follow before any session opens.
    second_step: SecondStep | None = None
    method: str = ""  # how the second factor was given: "totp" or "recovery"

    @property
    def ok(self) -> bool:
        """Signed in completely: a session may open now."""
        return self.user is not None and self.second_step is None

    @property
    def pending(self) -> bool:
        """The password was right; the second step (``second_step``) comes next."""
        return self.user is not None and self.second_step is not None


# A fixed hash verified when the user does not exist, so that "unknown user" takes as long as
# "wrong password" and the timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("gridwise-timing-equaliser")
# What the audit trail keeps instead of a typed username that matches no account (often a password typed
# into the wrong box).
UNKNOWN_USER = "(unknown)"


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


def address_throttled(session: Session, address: str, now: datetime) -> bool:
    """Has this client address had ``GRIDWISE_SIGNIN_ADDRESS_FAILURES`` refused sign-ins in the window?"""
    settings = get_settings()
    if not address or settings.signin_address_failures <= 0:
        return False
    row = session.get(SignInThrottle, address)
    window = timedelta(minutes=settings.signin_address_window_minutes)
    return (
        row is not None
        and row.window_start > now - window
        and row.failures >= settings.signin_address_failures
    )


def _count_refusal(session: Session, address: str, now: datetime) -> None:
    """One more refused sign-in from ``address`` (a new window when the last one has passed)."""
    if not address or get_settings().signin_address_failures <= 0:
        return
    window = timedelta(minutes=get_settings().signin_address_window_minutes)
    row = session.get(SignInThrottle, address)
    if row is None:
        row = SignInThrottle(address=address, window_start=now, failures=0)
    elif row.window_start <= now - window:
        row.window_start, row.failures = now, 0
    row.failures += 1
    session.add(row)


def _count_failure(session: Session, user: User, now: datetime) -> bool:
    """One more failed sign-in (password or second factor) for the account; True when it is now locked
    (``GRIDWISE_LOCKOUT_THRESHOLD`` in a row → ``GRIDWISE_LOCKOUT_MINUTES``)."""
    settings = get_settings()
    user.failed_logins = (user.failed_logins or 0) + 1
    session.add(user)
    if user.failed_logins < settings.lockout_threshold:
        return False
    user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
    user.failed_logins = 0
    return True


def sign_in(
    session: Session, username: str, password: str, *, address: str = "", now: datetime | None = None
) -> SignInResult:
    """Check a username and password from the client ``address`` (core.client_address); count failures per
    account (lock after ``GRIDWISE_LOCKOUT_THRESHOLD``) and per address (refuse the address after
    ``GRIDWISE_SIGNIN_ADDRESS_FAILURES``). A throttled address is refused before any account is looked at, so
    one address cannot lock everyone. An unknown user, a wrong password and a wrong password for a locked
    account get the same answer in the same time. Every refusal is audited with the address; a username
    that matches no account is not stored.

    A named exception to "the caller owns the transaction" (docs/CONVENTIONS.md): the failure counters,
    the lockout and their audit row commit here, retried while the database is busy, because they must
    stay written although the caller then shows an error and writes nothing else.
    """
    now = now or clock.now()
    username = (username or "").strip()
    if not username or not password:
        return SignInResult(error=SignInError.EMPTY)
    detail = {"address": address}
    if address_throttled(session, address, now):
        _commit_retrying(
            session, lambda: record(session, "signin.throttled", username=UNKNOWN_USER, detail=detail)
        )
        return SignInResult(error=SignInError.THROTTLED)
    user = session.exec(select(User).where(func.lower(User.username) == username.lower())).first()
    if user is None:
        verify_password(password, _DUMMY_HASH)

        def unknown() -> SignInResult:
            _count_refusal(session, address, now)
            record(session, "signin.unknown_user", username=UNKNOWN_USER, detail=detail)
            return SignInResult(error=SignInError.BAD_CREDENTIALS)

        return _commit_retrying(session, unknown)
    right = verify_password(password, user.password_hash)
    locked = bool(user.locked_until and user.locked_until > now)

    def refused(action: str, result: SignInResult, after: dict[str, object] | None = None) -> SignInResult:
        _count_refusal(session, address, now)
        record(
            session,
            action,
            username=user.username,
            entity="user",
            entity_id=user.id,
            after=after,
            detail=detail,
        )
        return result

    if locked:
        answer = SignInResult(error=SignInError.LOCKED, locked_until=user.locked_until) if right else None
        return _commit_retrying(
            session,
            lambda: refused(
                "signin.refused_locked", answer or SignInResult(error=SignInError.BAD_CREDENTIALS)
            ),
        )
    if not right:

        def failed() -> SignInResult:
            if _count_failure(session, user, now):
                return refused(
                    "signin.locked",
                    SignInResult(error=SignInError.BAD_CREDENTIALS),
                    after={"locked_until": user.locked_until},
                )
            return refused("signin.failed", SignInResult(error=SignInError.BAD_CREDENTIALS))

        return _commit_retrying(session, failed)
    if not user.is_active:
        return _commit_retrying(
            session, lambda: refused("signin.inactive", SignInResult(error=SignInError.INACTIVE))
        )

    second = None
    if needs_second_factor(session, user):
        second = SecondStep.CODE if enrolled(session, row_id(user.id)) else SecondStep.ENROL

    def succeeded() -> None:
        if second is None:  # with a second step, the failure counter is cleared only once that step passes
            user.failed_logins = 0
            user.locked_until = None
            user.last_login_at = now
        if _hasher.check_needs_rehash(user.password_hash):  # made with older argon2 parameters
            user.password_hash = hash_password(password)
        if password_expired(session, user, now):
            user.must_change_password = True
        session.add(user)
        action, extra = (
            ("signin.ok", {}) if second is None else ("signin.password_ok", {"next": second.value})
        )
        record(
            session,
            action,
            username=user.username,
            entity="user",
            entity_id=user.id,
            detail={**detail, **extra},
        )

    _commit_retrying(session, succeeded)
    session.refresh(user)
    return SignInResult(user=user, second_step=second)


def second_factor_sign_in(
    session: Session,
    user_id: int,
    code: str,
    *,
    address: str = "",
    now: datetime | None = None,
    unix_time: float | None = None,
) -> SignInResult:
    """The second step of a sign-in whose password was right (``SignInResult.second_step`` CODE): a code from
    the account's authenticator (±1 step, each step once) or one of its recovery codes (spent). A wrong code
    of any shape gets one answer (``BAD_CODE``) and counts, like a wrong password, toward the account's lock
    and the address's throttle; a locked account or a throttled address is refused before the code is
    looked at. Audited either way (``signin.second_factor`` / ``signin.second_factor_failed``).

    Commits like ``sign_in`` (the same named exception), so a refusal's counters stay written."""
    now = now or clock.now()
    detail: dict[str, object] = {"address": address}
    user = session.get(User, user_id)
    if user is None:
        return SignInResult(error=SignInError.BAD_CODE)
    if address_throttled(session, address, now):
        _commit_retrying(
            session,
            lambda: record(
                session,
                "signin.throttled",
                username=user.username,
                entity="user",
                entity_id=user.id,
                detail=detail,
            ),
        )
        return SignInResult(error=SignInError.THROTTLED)

    def refused(action: str, result: SignInResult, after: dict[str, object] | None = None) -> SignInResult:
        _count_refusal(session, address, now)
        record(
            session,
            action,
            username=user.username,
            entity="user",
            entity_id=user.id,
            after=after,
            detail=detail,
        )
        return result

    if user.locked_until and user.locked_until > now:
        until = user.locked_until
        return _commit_retrying(
            session,
            lambda: refused(
                "signin.refused_locked", SignInResult(error=SignInError.LOCKED, locked_until=until)
            ),
        )
    if not user.is_active:
        return _commit_retrying(
            session, lambda: refused("signin.inactive", SignInResult(error=SignInError.INACTIVE))
        )
    typed = (code or "").strip().replace(" ", "")

    def attempt() -> SignInResult:
        method = ""
        if len(typed) == DIGITS and typed.isdigit():
            method = (
                "totp" if verify(session, user_id, typed, unix_time=unix_time, confirmed_only=True) else ""
            )
        elif enrolled(session, user_id) and use_recovery_code(session, user_id, typed, now=now):
            method = "recovery"
        if not method:
            if _count_failure(session, user, now):
                return refused(
                    "signin.locked",
                    SignInResult(error=SignInError.BAD_CODE),
                    after={"locked_until": user.locked_until, "step": "second_factor"},
                )
            return refused("signin.second_factor_failed", SignInResult(error=SignInError.BAD_CODE))
        user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
        session.add(user)
        record(
            session,
            "signin.second_factor",
            username=user.username,
            entity="user",
            entity_id=user.id,
            detail={**detail, "method": method},
        )
        return SignInResult(user=user, method=method)

    result = _commit_retrying(session, attempt)
    if result.user is not None:
        session.refresh(user)
    return result


def sso_second_step(
    session: Session, user: User, claims: Mapping[str, object]
) -> tuple[SecondStep | None, str]:
    """After single sign-on: the second step the account still needs (None: none) and the session's ``via``.
    The provider's claim (``GRIDWISE_SSO_MFA_CLAIM``, core.totp.sso_claims_second_factor) stands for the
    step when it says a second factor was checked there; that is audited (``signin.second_factor``)."""
    if not needs_second_factor(session, user):
        return None, "sso"
    if sso_claims_second_factor(claims):
        record(
            session,
            "signin.second_factor",
            username=user.username,
            entity="user",
            entity_id=user.id,
            detail={"method": "sso_claim", "claim": get_settings().sso_mfa_claim},
        )
        return None, "sso+mfa"
    return (SecondStep.CODE if enrolled(session, row_id(user.id)) else SecondStep.ENROL), "sso"


def second_factor_enrolled(
    session: Session, user_id: int, *, address: str = "", now: datetime | None = None
) -> None:
    """A sign-in that set up its required second factor (core.totp.confirm, in the caller's unit of work)
    is complete: the failure counter is cleared and the sign-in audited (``signin.second_factor``)."""
    now = now or clock.now()
    user = session.get(User, user_id)
    if user is None:
        return
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.add(user)
    record(
        session,
        "signin.second_factor",
        username=user.username,
        entity="user",
        entity_id=user.id,
        detail={"address": address, "method": "enrolled"},
    )


def password_changed_at(session: Session, user: User) -> datetime:
    """When the account's password was last set: its newest history row, else the account's creation."""
    latest = session.exec(
        select(func.max(PasswordHistory.created_at)).where(PasswordHistory.user_id == user.id)
    ).one()
    return latest or user.created_at


def password_expired(session: Session, user: User, now: datetime) -> bool:
    """Is the password older than ``GRIDWISE_PASSWORD_MAX_AGE_DAYS`` (0 = never)? Demo accounts never expire."""
    days = get_settings().password_max_age_days
    if days <= 0 or user.is_demo or user.id is None:
        return False
    return now - password_changed_at(session, user) > timedelta(days=days)


def _recent_hashes(session: Session, user: User) -> list[str]:
    """The current hash and the previous ones the policy refuses to see again (the last N in all)."""
    keep = get_settings().password_history
    if keep <= 0:
        return []
    rows: list[str] = []
    if user.id is not None:
        rows = list(
            session.exec(
                select(PasswordHistory.password_hash)
                .where(PasswordHistory.user_id == user.id)
                .order_by(col(PasswordHistory.created_at).desc(), col(PasswordHistory.id).desc())
                .limit(keep)
            ).all()
        )
    if user.password_hash and user.password_hash not in rows:
        rows = [user.password_hash, *rows][:keep]
    return rows


def set_password(session: Session, user: User, password: str, *, now: datetime | None = None) -> None:
    """Give the account a new password: checked against the policy (core.passwords; ``PasswordRefused``),
    hashed, remembered in the password history (the last N are kept) and any lockout cleared."""
    check_password(
        password, username=user.username, recent_hashes=_recent_hashes(session, user), verify=verify_password
    )
    if user.id is None:
        session.add(user)
        session.flush()
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    session.add(
        PasswordHistory(
            user_id=row_id(user.id), password_hash=user.password_hash, created_at=now or clock.now()
        )
    )
    session.flush()
    keep = max(get_settings().password_history, 1)
    old = session.exec(
        select(PasswordHistory.id)
        .where(PasswordHistory.user_id == user.id)
        .order_by(col(PasswordHistory.created_at).desc(), col(PasswordHistory.id).desc())
        .offset(keep)
    ).all()
    if old:
        session.execute(delete(PasswordHistory).where(col(PasswordHistory.id).in_(old)))


def change_own_password(
    session: Session,
    user_id: int,
    old_password: str,
    new_password: str,
    *,
    keep_session: int | None = None,
    now: datetime | None = None,
) -> None:
    """A signed-in user replaces their password (first sign-in, after an administrator's reset, when it
    expired, or by choice); every other signed-in browser of theirs is signed out (the session
    ``keep_session``, where they changed it, stays)."""
    user = session.get(User, user_id)
    if user is None or not verify_password(old_password, user.password_hash):
        raise PasswordRefused("auth.err.pw_wrong_current")
    set_password(session, user, new_password, now=now)
    user.must_change_password = False
    session.add(user)
    record(session, "user.change_password", username=user.username, entity="user", entity_id=user.id)
    revoke_user_sessions(session, user_id, "password_changed", keep=keep_session)

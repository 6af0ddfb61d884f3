"""TOTP second factor (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps) and single-use recovery codes.

Enrolment (``begin_enrolment`` → the user's app scans ``otpauth_uri``, drawn by ``qr_png`` → ``confirm``), the
check (``verify``: one step of clock drift either way, a step never accepted twice) and recovery codes (ten,
shown once, stored as keyed hashes, each usable once). The shared secret is sealed at rest with the data key
(core.sealed, like phone numbers): the database alone never holds it in clear.

Who must have one: ``required`` (the roles in ``GRIDWISE_MFA_REQUIRED_ROLES``) and ``needs_second_factor``
(required, or enrolled by choice). The sign-in step is ``core.auth.second_factor_sign_in``; a signed-in
browser session remembers that it passed the step (``core.web_sessions``, ``via`` ending in ``+mfa``), and a
session without it is not accepted for such an account (a reload or a cookie never skips the step). With
single sign-on, ``sso_claims_second_factor`` says whether the identity provider's claim stands for it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import struct
import time
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

import segno
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.errors import GridwiseError
from core.models import Role, User
from core.models_auth import RecoveryCode, SecondFactor
from core.scope import parse_duties
from core.sealed import lookup_hash, seal, unseal
from core.settings import get_settings

STEP = 30
DIGITS = 6
DRIFT = 1  # steps accepted either side of now


def totp(secret_b32: str, step: int) -> str:
    """The code for a time step (RFC 4226 HOTP over the step counter, as RFC 6238 defines)."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def current_step(unix_time: float | None = None) -> int:
    return int((time.time() if unix_time is None else unix_time) // STEP)


def otpauth_uri(secret_b32: str, username: str, issuer: str = "Gridwise") -> str:
    """What the enrolment QR code holds (Google Authenticator's key URI format)."""
    label = quote(f"{issuer}:{username}")
    return f"otpauth://totp/{label}?secret={secret_b32}&issuer={quote(issuer)}&digits={DIGITS}&period={STEP}"


def qr_png(uri: str) -> bytes:
    """The enrolment QR code as a PNG (drawn here, no network)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="png", scale=6, border=2)
    return out.getvalue()


def required_roles() -> frozenset[Role]:
    """The roles that must sign in with a second factor (``GRIDWISE_MFA_REQUIRED_ROLES``)."""
    names = {r.strip().lower() for r in get_settings().mfa_required_roles.split(",") if r.strip()}
    return frozenset(r for r in Role if r.value in names)


def required(user: User) -> bool:
    """Must this account sign in with a second factor (its role or an extra duty it holds is required)?"""
    duties = {Role(user.role), *parse_duties(user.role, user.extra_duties)}
    return bool(duties & required_roles())


def _factor(session: Session, user_id: int) -> SecondFactor | None:
    return session.exec(select(SecondFactor).where(SecondFactor.user_id == user_id)).first()


def enrolled(session: Session, user_id: int) -> bool:
    """Has the account a confirmed authenticator?"""
    row = _factor(session, user_id)
    return row is not None and row.confirmed_at is not None


def needs_second_factor(session: Session, user: User) -> bool:
    """Does signing in to this account take a second factor (required for its role, or enrolled by choice)?"""
    return required(user) or (user.id is not None and enrolled(session, user.id))


def sso_claims_second_factor(claims: Mapping[str, object]) -> bool:
    """Does the identity provider's ID token say it checked a second factor? (``GRIDWISE_SSO_MFA_CLAIM``,
    e.g. ``amr``, holding one of ``GRIDWISE_SSO_MFA_VALUES``; an empty claim setting trusts none.)"""
    settings = get_settings()
    if not settings.sso_mfa_claim:
        return False
    value = claims.get(settings.sso_mfa_claim)
    given = {str(v).strip().lower() for v in (value if isinstance(value, list | tuple) else [value]) if v}
    wanted = {v.strip().lower() for v in settings.sso_mfa_values.split(",") if v.strip()}
    return bool(given & wanted)


def begin_enrolment(session: Session, user_id: int) -> str:
    """A new secret for the account (replacing an unconfirmed one); returns it (base32) for the QR code.
    Stored sealed with the data key (core.sealed), never in clear."""
    secret = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
    row = _factor(session, user_id)
    if row is not None and row.confirmed_at is not None:
        raise GridwiseError("auth.err.totp_enrolled")
    row = row or SecondFactor(user_id=user_id, secret="")
    row.secret, row.last_step = seal(secret) or "", 0
    session.add(row)
    session.flush()
    return secret


def pending_secret(session: Session, user_id: int) -> str | None:
    """The secret of an enrolment begun and not yet confirmed (to show its QR code again), else None."""
    row = _factor(session, user_id)
    return unseal(row.secret) if row is not None and row.confirmed_at is None else None


def verify(
    session: Session,
    user_id: int,
    code: str,
    *,
    unix_time: float | None = None,
    confirmed_only: bool = False,
) -> bool:
    """Accept ``code`` for the account's authenticator (confirmed, or being enrolled unless
    ``confirmed_only``) within the drift, once: the accepted step is remembered and that step or an earlier
    one is refused afterwards (no replay)."""
    row = _factor(session, user_id)
    code = code.strip().replace(" ", "")
    if row is None or len(code) != DIGITS or not code.isdigit():
        return False
    if confirmed_only and row.confirmed_at is None:
        return False
    secret = unseal(row.secret) or ""
    now_step = current_step(unix_time)
    for step in range(now_step - DRIFT, now_step + DRIFT + 1):
        if step > row.last_step and hmac.compare_digest(totp(secret, step), code):
            row.last_step = step
            session.add(row)
            return True
    return False


def confirm(
    session: Session, user_id: int, code: str, *, now: datetime | None = None, unix_time: float | None = None
) -> list[str]:
    """Finish enrolment with a first code from the app; returns ten recovery codes (shown once)."""
    row = _factor(session, user_id)
    if row is None or row.confirmed_at is not None or not verify(session, user_id, code, unix_time=unix_time):
        raise GridwiseError("auth.err.totp_wrong")
    row.confirmed_at = now or clock.now()
    session.add(row)
    user = session.get(User, user_id)
    record(
        session,
        "user.second_factor_on",
        username=user.username if user else "",
        entity="user",
        entity_id=user_id,
    )
    return new_recovery_codes(session, user_id)


def _hash(code: str) -> str:
    """A recovery code's keyed hash (HMAC-SHA256 under a subkey of the data key, core.sealed): the database
    alone cannot be used to test guesses. Spaces, dashes and case do not matter."""
    return lookup_hash(code) or ""


def new_recovery_codes(session: Session, user_id: int, n: int = 10) -> list[str]:
    """Ten fresh single-use codes (the old ones stop working); only their hashes are stored."""
    for old in session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user_id)).all():
        session.delete(old)
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(n)]
    session.add_all(RecoveryCode(user_id=user_id, code_hash=_hash(c)) for c in codes)
    session.flush()
    return codes


def use_recovery_code(session: Session, user_id: int, code: str, *, now: datetime | None = None) -> bool:
    """Accept an unused recovery code of the account and spend it."""
    if not code.strip():
        return False
    row = session.exec(
        select(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _hash(code))
    ).first()
    if row is None or row.used_at is not None:
        return False
    row.used_at = now or clock.now()
    session.add(row)
    return True


def recovery_codes_left(session: Session, user_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, col(RecoveryCode.used_at).is_(None))
    ).one()


def remove(session: Session, user_id: int) -> bool:
    """Forget the account's authenticator and recovery codes (a security administrator's reset,
    core.users.reset_second_factor); True when there was one."""
    had = _factor(session, user_id) is not None
    session.execute(delete(SecondFactor).where(col(SecondFactor.user_id) == user_id))
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    return had

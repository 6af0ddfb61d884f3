"""TOTP second factor (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps) and single-use recovery codes.

Domain only so far: enrolment (``begin_enrolment`` → the user's app scans ``otpauth_uri`` → ``confirm``),
the check (``verify``: one step of clock drift either way, a step never accepted twice) and recovery codes
(ten, shown once, stored as SHA-256 hashes, each usable once). The sign-in step and the enrolment page are
not wired yet (SECURITY.md, 身份鉴别 d)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from datetime import datetime
from urllib.parse import quote

from sqlmodel import Session, select

from core import clock
from core.errors import GridwiseError
from core.models_auth import RecoveryCode, SecondFactor

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


def begin_enrolment(session: Session, user_id: int) -> str:
    """A new secret for the account (replacing an unconfirmed one); returns it (base32) for the QR code."""
    secret = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
    row = session.exec(select(SecondFactor).where(SecondFactor.user_id == user_id)).first()
    if row is not None and row.confirmed_at is not None:
        raise GridwiseError("auth.err.totp_enrolled")
    row = row or SecondFactor(user_id=user_id, secret=secret)
    row.secret, row.last_step = secret, 0
    session.add(row)
    session.flush()
    return secret


def verify(session: Session, user_id: int, code: str, *, unix_time: float | None = None) -> bool:
    """Accept ``code`` for the account's authenticator (confirmed or being enrolled) within the drift, once:
    the accepted step is remembered and that step or an earlier one is refused afterwards (no replay)."""
    row = session.exec(select(SecondFactor).where(SecondFactor.user_id == user_id)).first()
    code = code.strip().replace(" ", "")
    if row is None or len(code) != DIGITS or not code.isdigit():
        return False
    now_step = current_step(unix_time)
    for step in range(now_step - DRIFT, now_step + DRIFT + 1):
        if step > row.last_step and hmac.compare_digest(totp(row.secret, step), code):
            row.last_step = step
            session.add(row)
            return True
    return False


def confirm(session: Session, user_id: int, code: str, *, now: datetime | None = None) -> list[str]:
    """Finish enrolment with a first code from the app; returns ten recovery codes (shown once)."""
    if not verify(session, user_id, code):
        raise GridwiseError("auth.err.totp_wrong")
    row = session.exec(select(SecondFactor).where(SecondFactor.user_id == user_id)).one()
    row.confirmed_at = now or clock.now()
    return new_recovery_codes(session, user_id)


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


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
    row = session.exec(
        select(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _hash(code))
    ).first()
    if row is None or row.used_at is not None:
        return False
    row.used_at = now or clock.now()
    session.add(row)
    return True

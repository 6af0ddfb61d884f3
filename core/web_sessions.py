"""Signed-in browser sessions: the durable record behind the HttpOnly cookie (ARCHITECTURE.md, Auth).

A sign-in opens a ``WebSession`` row and returns a one-time code; the browser trades the code, once and
within ``CODE_SECONDS``, for a random token that only its HttpOnly cookie holds (ui/session_cookie.py).
The database keeps SHA-256 hashes of both, never the values. Every page run checks the row: revoked,
idle for longer than ``GRIDWISE_SESSION_IDLE_MINUTES`` or older than ``GRIDWISE_SESSION_MAX_HOURS`` →
signed out. Sign-out, a password change or reset, deactivation and a role or scope change revoke rows.

No streamlit here; nothing commits (the caller owns the unit of work). Every event is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from core import clock
from core.audit import record
from core.models import Role, User, Worker
from core.models_web_sessions import WebSession
from core.scope import Viewer, require_duty
from core.settings import get_settings
from core.totp import needs_second_factor

COOKIE_NAME = "gridwise_session"
CODE_SECONDS = 60  # a sign-in's one-time code must be redeemed this fast
MFA_SUFFIX = "+mfa"  # ``via`` of a session opened after the second factor: "password+mfa", "sso+mfa"
TOUCH_SECONDS = 60  # last_seen_at is written at most this often per session (one UPDATE a minute, not a run)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class SessionState:
    """The outcome of checking a session: ``user`` when it is valid, else why not (``reason``)."""

    session_id: int | None
    user: User | None = None
    # "unknown", "revoked", "idle", "expired", "inactive", "second_factor" (the account takes a second factor
    # and this session was opened without it: opened before the requirement, or never through the step)
    reason: str | None = None
    lang: str = ""
    via: str = "password"

    @property
    def ok(self) -> bool:
        return self.user is not None


def open_session(
    session: Session,
    user: User,
    *,
    user_agent: str = "",
    via: str = "password",
    lang: str = "",
    now: datetime | None = None,
) -> tuple[WebSession, str]:
    """Open a session for a user who has just proved who they are; return it and its one-time code."""
    now = now or clock.now()
    code = secrets.token_urlsafe(24)
    row = WebSession(
        user_id=user.id or 0,
        code_hash=_digest(code),
        code_expires_at=now + timedelta(seconds=CODE_SECONDS),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=get_settings().session_max_hours),
        user_agent=(user_agent or "")[:255],
        via=via,
        lang=lang[:8],
    )
    session.add(row)
    session.flush()
    record(
        session,
        "session.start",
        username=user.username,
        entity="web_session",
        entity_id=row.id,
        detail={"via": via, "user_agent": row.user_agent},
    )
    return row, code


def redeem_code(session: Session, code: str, *, now: datetime | None = None) -> str | None:
    """Trade a one-time code for the session's token (the cookie value); None when the code is unknown,
    used, late or its session ended. The token exists only in the return value and, hashed, in the row."""
    now = now or clock.now()
    if not code:
        return None
    row = session.exec(select(WebSession).where(WebSession.code_hash == _digest(code))).first()
    if row is None:
        return None
    row.code_hash = None  # one use, whatever happens next
    session.add(row)
    if row.revoked_at is not None or row.token_hash is not None or (row.code_expires_at or now) < now:
        return None
    token = secrets.token_urlsafe(32)
    row.token_hash = _digest(token)
    return token


def check_session(
    session: Session,
    *,
    session_id: int | None = None,
    token: str | None = None,
    now: datetime | None = None,
) -> SessionState:
    """Is this session (by id, as cached by a running page, or by the cookie's token) still signed in?

    An idle or expired session is revoked here (and audited); a valid one has ``last_seen_at`` moved on
    (at most once every ``TOUCH_SECONDS``)."""
    now = now or clock.now()
    if session_id is not None:
        row = session.get(WebSession, session_id)
    elif token:
        row = session.exec(select(WebSession).where(WebSession.token_hash == _digest(token))).first()
    else:
        row = None
    if row is None:
        return SessionState(None, reason="unknown")
    if row.revoked_at is not None:
        return SessionState(row.id, reason="revoked")
    user = session.get(User, row.user_id)
    reason = None
    if user is None or not user.is_active:
        reason = "inactive"
    elif row.expires_at <= now:
        reason = "expired"
    elif row.last_seen_at + timedelta(minutes=get_settings().session_idle_minutes) <= now:
        reason = "idle"
    elif not row.via.endswith(MFA_SUFFIX) and needs_second_factor(session, user):
        reason = "second_factor"
    if reason is not None:
        _revoke(session, row, reason, now)
        record(
            session,
            f"session.{reason}",
            username=user.username if user else "",
            entity="web_session",
            entity_id=row.id,
        )
        return SessionState(row.id, reason=reason)
    if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        row.last_seen_at = now
        session.add(row)
    return SessionState(row.id, user=user, lang=row.lang, via=row.via)


def _revoke(session: Session, row: WebSession, reason: str, now: datetime) -> None:
    row.revoked_at, row.revoked_reason, row.code_hash = now, reason, None
    session.add(row)


def mark_second_factor(session: Session, session_id: int) -> None:
    """This session's user has just proved the second factor too (set it up on 我的账号): the session stays
    valid for an account that now takes one."""
    row = session.get(WebSession, session_id)
    if row is not None and not row.via.endswith(MFA_SUFFIX):
        row.via = row.via + MFA_SUFFIX
        session.add(row)


def session_for_token(session: Session, token: str) -> int | None:
    """The id of the session a cookie's token belongs to (whatever its state)."""
    return session.exec(select(WebSession.id).where(WebSession.token_hash == _digest(token))).first()


def end_session(session: Session, session_id: int, *, now: datetime | None = None) -> None:
    """Sign-out: the session is revoked, so its cookie (or a copy of it) no longer signs anyone in."""
    row = session.get(WebSession, session_id)
    if row is None or row.revoked_at is not None:
        return
    user = session.get(User, row.user_id)
    _revoke(session, row, "signout", now or clock.now())
    record(
        session, "session.end", username=user.username if user else "", entity="web_session", entity_id=row.id
    )


def set_language(session: Session, session_id: int, lang: str) -> None:
    """Remember the language a signed-in browser chose, so a reload or a new tab keeps it."""
    session.exec(update(WebSession).where(col(WebSession.id) == session_id).values(lang=lang[:8]))


def revoke_user_sessions(
    session: Session,
    user_id: int,
    reason: str,
    *,
    viewer: Viewer | None = None,
    keep: int | None = None,
    now: datetime | None = None,
) -> int:
    """Sign a user out everywhere (password changed or reset, deactivated, role or scope changed), except
    the session ``keep`` (the one that changed its own password). Returns how many sessions ended."""
    now = now or clock.now()
    stmt = select(WebSession).where(WebSession.user_id == user_id, col(WebSession.revoked_at).is_(None))
    if keep is not None:
        stmt = stmt.where(WebSession.id != keep)
    rows = session.exec(stmt).all()
    for row in rows:
        _revoke(session, row, reason, now)
    if rows:
        user = session.get(User, user_id)
        record(
            session,
            "session.revoke_all",
            viewer=viewer,
            username="" if viewer else (user.username if user else ""),
            entity="user",
            entity_id=user_id,
            detail={"reason": reason, "sessions": len(rows)},
        )
    return len(rows)


def revoke_sessions(
    session: Session, viewer: Viewer, session_ids: list[int], *, now: datetime | None = None
) -> int:
    """An administrator ends sessions; each takes effect on that browser's next action. Returns how many
    were still open."""
    require_duty(viewer, Role.SECADMIN, "end sessions")
    now = now or clock.now()
    rows = session.exec(
        select(WebSession).where(col(WebSession.id).in_(session_ids), col(WebSession.revoked_at).is_(None))
    ).all()
    for row in rows:
        user = session.get(User, row.user_id)
        _revoke(session, row, "admin", now)
        record(
            session,
            "session.revoke",
            viewer=viewer,
            entity="web_session",
            entity_id=row.id,
            detail={"user": user.username if user else None},
        )
    return len(rows)


def active_sessions(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """Sessions still signed in (not revoked, not past their idle or absolute limit), newest activity first
    (administrators only)."""
    require_duty(viewer, Role.SECADMIN, "list sessions")
    now = now or clock.now()
    idle_since = now - timedelta(minutes=get_settings().session_idle_minutes)
    stmt = (
        select(WebSession, User)
        .join(User, col(User.id) == WebSession.user_id)
        .where(
            col(WebSession.revoked_at).is_(None),
            WebSession.expires_at > now,
            WebSession.last_seen_at > idle_since,
            or_(col(WebSession.token_hash).is_not(None), col(WebSession.code_expires_at) > now),
        )
        .order_by(col(WebSession.last_seen_at).desc(), col(WebSession.id).desc())
    )
    return pd.DataFrame(
        [
            (
                w.id,
                u.username,
                u.display_name,
                u.role,
                w.created_at,
                w.last_seen_at,
                w.expires_at,
                w.user_agent,
                w.via,
            )
            for w, u in session.exec(stmt).all()
        ],
        columns=[
            "id",
            "username",
            "display_name",
            "role",
            "created_at",
            "last_seen_at",
            "expires_at",
            "user_agent",
            "via",
        ],
    )


def user_for_identity(session: Session, claims: dict[str, object]) -> User | None:
    """The active Gridwise user an identity from the single sign-on provider stands for (GRIDWISE_SSO_CLAIM
    matched against GRIDWISE_SSO_MATCH), or None: an unknown identity gets no account and no rights. Audited
    either way it is refused."""
    settings = get_settings()
    value = str(claims.get(settings.sso_claim) or "").strip()
    user = None
    if value and settings.sso_match == "employee_no":
        user = session.exec(
            select(User)
            .join(Worker, col(Worker.id) == User.worker_id)
            .where(func.lower(Worker.employee_no) == value.lower())
        ).first()
    elif value:
        user = session.exec(select(User).where(func.lower(User.username) == value.lower())).first()
    if user is None or not user.is_active:
        record(
            session,
            "session.sso_refused",
            username=value[:64],
            entity="user",
            entity_id=user.id if user else "",
            detail={"claim": settings.sso_claim, "sub": claims.get("sub"), "inactive": user is not None},
        )
        return None
    return user


def device(user_agent: str) -> str:
    """A short name for a browser's user agent: "Chrome · Android", "Firefox · Windows", …"""
    ua = user_agent or ""
    browser = next(
        (
            name
            for key, name in (
                ("Edg/", "Edge"),
                ("MicroMessenger", "WeChat"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if key in ua
        ),
        "",
    )
    system = next(
        (
            name
            for key, name in (
                ("Android", "Android"),
                ("iPhone", "iOS"),
                ("iPad", "iOS"),
                ("Windows", "Windows"),
                ("Mac OS", "macOS"),
                ("Linux", "Linux"),
            )
            if key in ua
        ),
        "",
    )
    return " · ".join(p for p in (browser, system) if p) or (ua[:40] or "—")

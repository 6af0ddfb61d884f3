"""Signed-in browser sessions (core.web_sessions): the durable half of "signed in"; the cookie holds the token."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

from core import clock
from core.clock import LocalDateTime
from core.privacy import declare


class WebSession(SQLModel, table=True):
    """One signed-in browser. The token (cookie) and the one-time code that hands it over are stored
    only as SHA-256 hashes; a row with no token yet is a sign-in whose code has not been redeemed."""

    __tablename__ = "web_session"
    __data_classes__ = declare(
        personal="user_id user_agent",
        sensitive="token_hash code_hash",
        technical="id via code_expires_at created_at last_seen_at expires_at lang revoked_at revoked_reason",
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    code_hash: str | None = Field(default=None, max_length=64, unique=True)
    code_expires_at: LocalDateTime | None = None
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: LocalDateTime = Field(default_factory=clock.now)
    last_seen_at: LocalDateTime = Field(default_factory=clock.now)
    expires_at: LocalDateTime  # the absolute end (GRIDWISE_SESSION_MAX_HOURS after sign-in)
    user_agent: str = Field(default="", max_length=255)
    via: str = Field(default="password", max_length=16)  # "password" or "sso", "+mfa" after a second factor
    lang: str = Field(default="", max_length=8)  # the language chosen at sign-in, restored on reload
    revoked_at: LocalDateTime | None = Field(default=None, index=True)
    revoked_reason: str | None = Field(default=None, max_length=32)

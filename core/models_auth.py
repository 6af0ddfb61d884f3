"""Credentials beside the account (core.passwords, core.totp): the password history and the second factor."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

from core import clock
from core.clock import LocalDateTime
from core.privacy import declare


class PasswordHistory(SQLModel, table=True):
    """One row per password an account has been given (the newest is the current one): the policy refuses
    one of the last ``GRIDWISE_PASSWORD_HISTORY``, and the newest row's time is when the password was last
    changed (``GRIDWISE_PASSWORD_MAX_AGE_DAYS``). Hashes only (argon2id), never a password."""

    __tablename__ = "password_history"
    __data_classes__ = declare(sensitive="password_hash", technical="id user_id created_at")

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    password_hash: str = Field(max_length=255)
    created_at: LocalDateTime = Field(default_factory=clock.now)


class SecondFactor(SQLModel, table=True):
    """An account's TOTP authenticator (RFC 6238). The shared secret is stored encrypted (Fernet,
    ``GRIDWISE_SECRET_KEY``) when a key is configured; ``confirmed_at`` is set once the user has typed a first
    code (until then it is an enrolment in progress); ``last_step`` is the last time step accepted, so the same
    code cannot be used twice."""

    __tablename__ = "second_factor"
    __data_classes__ = declare(sensitive="secret", technical="id user_id confirmed_at last_step created_at")

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    secret: str = Field(max_length=255)
    confirmed_at: LocalDateTime | None = None
    last_step: int = 0
    created_at: LocalDateTime = Field(default_factory=clock.now)


class RecoveryCode(SQLModel, table=True):
    """One of an account's ten single-use recovery codes, kept as a SHA-256 hash (the codes are random, 50
    bits each, shown once at enrolment)."""

    __tablename__ = "recovery_code"
    __data_classes__ = declare(sensitive="code_hash", technical="id user_id used_at created_at")

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    used_at: LocalDateTime | None = None
    created_at: LocalDateTime = Field(default_factory=clock.now)


class SignInThrottle(SQLModel, table=True):
    """Refused sign-ins per client address in the current window (core.auth): an address with
    ``GRIDWISE_SIGNIN_ADDRESS_FAILURES`` refusals within ``GRIDWISE_SIGNIN_ADDRESS_WINDOW_MINUTES`` is refused
    before any account is looked at, so one address cannot lock every account by guessing."""

    __tablename__ = "signin_throttle"
    __data_classes__ = declare(personal="address", technical="window_start failures")

    address: str = Field(primary_key=True, max_length=64)
    window_start: LocalDateTime = Field(default_factory=clock.now)
    failures: int = 0

"""Tables of the JSON API (api/): the clients an administrator registers, and the responses kept for
``Idempotency-Key`` retries.

A client's key is shown once; only its SHA-256 is stored (the key is 256 random bits, so a fast hash is
enough and a request pays microseconds, not argon2's tens of milliseconds). ``key_prefix`` — the part of the
key before the dot — finds the row without scanning.
"""

from __future__ import annotations

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import LocalDateTime, now
from core.privacy import declare


class ApiClient(SQLModel, table=True):
    """A system allowed to call the API (the city's grid platform, a meeting platform…)."""

    __tablename__ = "api_client"
    __data_classes__ = declare(
        personal="user_id created_by",
        sensitive="key_hash",
        business="name scope_unit_id operations is_active",
        technical="id key_prefix created_at rotated_at revoked_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    # The account the client acts through: "api:<name>", inactive and without a usable password (nobody
    # signs in with it), so that what it writes names a user like every other writer (audit, marked_by …).
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    scope_unit_id: int | None = Field(default=None, foreign_key="org_unit.id")  # None: the whole district
    operations: str = Field(default="", max_length=500)  # comma-separated, core.api_clients.OPERATIONS
    key_prefix: str = Field(max_length=24, unique=True)
    key_hash: str = Field(max_length=64)
    is_active: bool = True
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: LocalDateTime = Field(default_factory=now)
    rotated_at: LocalDateTime | None = None
    revoked_at: LocalDateTime | None = None


class ApiIdempotency(SQLModel, table=True):
    """One ``Idempotency-Key`` of one client: the request it came with and the response given, so a retry
    gets the same answer and writes nothing twice."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("client_id", "key", name="uq_api_idempotency_client_key"),)
    __data_classes__ = declare(
        business="client_id",
        technical="id key method path request_hash status_code response created_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="api_client.id")
    key: str = Field(max_length=128)
    method: str = Field(max_length=8)
    path: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int | None = None  # None until the response is stored
    response: str | None = Field(default=None, sa_column=Column(Text))
    created_at: LocalDateTime = Field(default_factory=now)


class ApiWebhook(SQLModel, table=True):
    """A client's subscription: what it wants pushed (assignment decisions, frozen scorecards) and the
    notification channel (core.notify, kind "webhook", signed with the channel's secret) that delivers it."""

    __tablename__ = "api_webhook"
    __data_classes__ = declare(
        business="client_id channel_id events",
        technical="id created_at",
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="api_client.id", unique=True)
    channel_id: int = Field(foreign_key="notify_channel.id")
    events: str = Field(default="", max_length=200)  # comma-separated, evaluation.webhooks.EVENTS
    created_at: LocalDateTime = Field(default_factory=now)

"""Tables of outside delivery (see core.notify): channels, the outbox of deliveries, the fan-out marks and
each user's notification preferences."""

from __future__ import annotations

import enum

from sqlalchemy import Column, Index, String, Text
from sqlmodel import Field, SQLModel

import core.models  # noqa: F401 - the tables our foreign keys name (org_unit, app_user) …
import core.models_inbox  # noqa: F401 - … and notification, registered wherever these models are used
from core.clock import LocalDateTime, now
from core.privacy import declare
from core.sealed import Sealed


class ChannelKind(enum.StrEnum):
    WECOM = "wecom"  # 企业微信群机器人
    DINGTALK = "dingtalk"  # 钉钉自定义机器人
    FEISHU = "feishu"  # 飞书自定义机器人
    EMAIL = "email"  # SMTP
    WEBHOOK = "webhook"  # generic HTTP gateway (SMS provider, government platform, API subscribers)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its time (quiet hours, a rate-limit slot, a paused robot)
    SENDING = "sending"  # claimed by a runner until ``claimed_until`` (see the crash rule in core.notify)
    SENT = "sent"
    FAILED = "failed"  # the last attempt failed; tried again at ``next_attempt_at``
    GAVE_UP = "gave_up"  # no more attempts: a refused key/signature, or too many failures


class NotifyChannel(SQLModel, table=True):
    """A place messages go: a group robot, an SMTP server or an HTTP gateway, owned by an org unit
    (``owner_unit_id`` None: the whole district). The URL (robot URLs carry their key) and the secret are
    stored Fernet-encrypted; ``url_hint`` / ``secret_hint`` are masked forms safe to show."""

    __tablename__ = "notify_channel"
    __data_classes__ = declare(
        sensitive="url_enc secret_enc",
        business="name kind owner_unit_id enabled",
        technical=(
            "id url_hint secret_hint options flagged paused_until last_error last_error_at "
            "last_sent_at created_at updated_at"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    owner_unit_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    url_enc: str = Field(sa_column=Column(Text, nullable=False))
    url_hint: str = Field(default="", max_length=300)
    secret_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    secret_hint: str = Field(default="", max_length=32)
    options: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # JSON
    enabled: bool = True
    # Set when the provider refused the key or the signature: nothing is sent until an administrator acts.
    flagged: bool = False
    paused_until: LocalDateTime | None = None  # a robot blocked by its provider for sending too fast
    last_error: str = Field(default="", max_length=500)
    last_error_at: LocalDateTime | None = None
    last_sent_at: LocalDateTime | None = None
    created_at: LocalDateTime = Field(default_factory=now)
    updated_at: LocalDateTime = Field(default_factory=now)


class NotifyDelivery(SQLModel, table=True):
    """One message to one place: notice × channel × recipient (a person, or the group). ``key`` is unique,
    so fanning a notice out twice adds nothing. ``payload`` (JSON) is the rendered message."""

    __tablename__ = "notify_delivery"
    __table_args__ = (Index("ix_notify_delivery_due", "state", "next_attempt_at"),)
    __data_classes__ = declare(
        personal="user_id",
        contact="recipient payload",
        business="notification_id channel_id kind state",
        technical=(
            "id key attempts next_attempt_at claimed_until claim_token last_attempt_at sent_at "
            "error_kind last_error created_at"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    notification_id: int | None = Field(default=None, foreign_key="notification.id", index=True)
    channel_id: int = Field(foreign_key="notify_channel.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    recipient: str = Field(
        default="", sa_type=Sealed
    )  # "group", an email address or a mobile number (sealed)
    kind: str = Field(default="", max_length=32)
    payload: str = Field(sa_column=Column(Sealed(), nullable=False))  # sealed: it names the address
    state: str = Field(default=DeliveryState.PENDING.value, sa_column=Column(String(16), nullable=False))
    attempts: int = 0
    next_attempt_at: LocalDateTime = Field(default_factory=now)
    claimed_until: LocalDateTime | None = None
    claim_token: str | None = Field(default=None, max_length=32)
    last_attempt_at: LocalDateTime | None = Field(default=None, index=True)
    sent_at: LocalDateTime | None = None
    error_kind: str = Field(default="", max_length=32)  # a reason code, labelled "notify.reason.<code>"
    last_error: str = Field(default="", max_length=500)  # the provider's own words
    created_at: LocalDateTime = Field(default_factory=now, index=True)


class NotifyFanout(SQLModel, table=True):
    """An inbox notice already turned into deliveries (with or without any)."""

    __tablename__ = "notify_fanout"
    __data_classes__ = declare(
        business="notification_id",
        technical="id at",
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", unique=True)
    at: LocalDateTime = Field(default_factory=now)


class NotifyPreference(SQLModel, table=True):
    """A user's choices: language of outside messages, quiet hours and which channels reach them."""

    __tablename__ = "notify_preference"
    __data_classes__ = declare(
        personal="user_id",
        contact="email mobile",
        business="quiet_start quiet_end use_email use_sms use_group",
        technical="language updated_at",
    )

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    language: str = Field(default="zh", max_length=8)
    quiet_start: str = Field(default="22:00", max_length=5)  # "" for no quiet hours
    quiet_end: str = Field(default="07:00", max_length=5)
    email: str = Field(default="", max_length=200, sa_type=Sealed)  # sealed: core.sealed
    mobile: str = Field(default="", max_length=20, sa_type=Sealed)  # empty: the worker record's phone
    use_email: bool = True
    use_sms: bool = True
    use_group: bool = True
    updated_at: LocalDateTime = Field(default_factory=now)
